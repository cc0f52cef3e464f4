//! The member side of an execution: a new member prepared once (id, password hash, login
//! candidates) and the welcome email after the commit.

use serde_json::{json, Value};

use super::Incoming;
use crate::domain::incoming::run::WelcomeEmail;
use crate::domain::incoming::{IncomingWebhook, Payload};
use crate::domain::member::{self, Member};
use crate::domain::{secret, time};
use crate::error::{Error, Result};
use crate::store::incoming::StoredResponse;

/// A member about to be created by this call (kept across re-plans so the id and the password
/// hash are computed once).
pub(crate) struct NewMember {
    member: Member,
    pub password_hash: String,
    logins: Vec<String>,
    pub login_index: usize,
}

impl NewMember {
    /// The member with the current login candidate.
    pub fn current(&mut self, email: &str) -> Member {
        self.member.login = self
            .logins
            .get(self.login_index)
            .cloned()
            .unwrap_or_else(|| member::random_login(email));
        self.member.display_name = member::display_name(
            &self.member.first_name,
            &self.member.last_name,
            &self.member.login,
        );
        self.member.clone()
    }
}

impl Incoming {
    /// Sends the welcome email of a member this call created; a failure is reported in the
    /// response (and in the stored response of a repeatable call).
    pub(crate) async fn welcome(
        &self,
        member: &Member,
        body: &mut Value,
        key_hash: Option<&str>,
        stored: StoredResponse,
    ) {
        let status = self.send_welcome(member).await;
        body["welcome_email"] = json!(status);
        if status == WelcomeEmail::Sent {
            return;
        }
        if let Some(h) = key_hash {
            let amended = StoredResponse {
                body: body.clone(),
                ..stored
            };
            if let Err(e) = self.webhooks.amend_stored_response(h, &amended).await {
                tracing::warn!(error = %e, "could not amend the stored response");
            }
        }
    }

    /// Allocates an id and hashes the password of a member this call may create.
    pub(crate) async fn prepare_member(
        &self,
        webhook: &IncomingWebhook,
        payload: &Payload,
        email: &str,
    ) -> Result<NewMember> {
        let password = payload
            .password()
            .map(str::to_string)
            .unwrap_or_else(secret::random_password);
        let (user_id, hash) = tokio::join!(
            self.members.next_id(),
            tokio::task::spawn_blocking(move || secret::hash_password(&password))
        );
        let user_id = user_id?;
        let password_hash = hash.map_err(Error::dep)?.map_err(Error::dep)?;
        let first = payload
            .get("first_name")
            .map(|s| member::sanitize_text(s, 100))
            .unwrap_or_default();
        let last = payload
            .get("last_name")
            .map(|s| member::sanitize_text(s, 100))
            .unwrap_or_default();
        let logins = member::login_candidates(payload.get("user_login"), email);
        let login = logins
            .first()
            .cloned()
            .unwrap_or_else(|| member::random_login(email));
        Ok(NewMember {
            member: Member {
                user_id,
                email: email.to_string(),
                display_name: member::display_name(&first, &last, &login),
                login,
                first_name: first,
                last_name: last,
                role: self.config.default_role.clone(),
                status: crate::domain::member::MemberStatus::Active,
                meta: payload.mapped_meta(&webhook.field_map),
                created_at: time::now_rfc3339(),
                origin: format!("incoming_webhook:{}", webhook.id),
            },
            password_hash,
            logins,
            login_index: 0,
        })
    }

    async fn send_welcome(&self, member: &Member) -> WelcomeEmail {
        let email = match crate::mail::welcome_email(&self.config, member) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "welcome email could not be rendered");
                return WelcomeEmail::Failed;
            }
        };
        match self.mailer.send(&email).await {
            Ok(()) => WelcomeEmail::Sent,
            Err(e) => {
                tracing::warn!(error = %e, user_id = member.user_id, "welcome email failed");
                WelcomeEmail::Failed
            }
        }
    }
}
