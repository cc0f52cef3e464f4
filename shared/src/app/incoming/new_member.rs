//! The member side of an execution: a new member prepared once (id, password hash, login
//! candidates) and the welcome email after the commit (claimed, sent, marked sent), the welcome
//! sweep for what the request path did not send, and what a replay says about it.

use serde_json::json;

use super::{Executed, Incoming};
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

/// How long a claim on a welcome email holds (seconds): a marker still owed this long after
/// its commit, or after its last claim, is sent by the welcome sweep.
pub const WELCOME_RETRY_SECONDS: i64 = 60;

/// Claims of one welcome email before it is abandoned (logged `welcome email abandoned`).
pub const MAX_WELCOME_SENDS: u32 = 5;

/// Owed welcome emails one sweep sends at most (the rest wait for the next run).
pub const WELCOME_PER_SWEEP: i32 = 50;

impl Incoming {
    /// The welcome email of a member this call created, right after the commit that recorded
    /// it as owed: claimed, sent, marked sent. Anything that fails leaves the marker owed and
    /// the welcome sweep sends it once the claim lapses; the reply says `failed`.
    pub(crate) async fn send_owed_welcome(&self, member: &Member) -> WelcomeEmail {
        let now = time::now().as_second();
        match self
            .welcome
            .claim(member.user_id, now, WELCOME_RETRY_SECONDS)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return WelcomeEmail::Failed,
            Err(e) => {
                tracing::warn!(error = %e, user_id = member.user_id, "welcome email not claimed; the sweep sends it");
                return WelcomeEmail::Failed;
            }
        }
        let status = self.send_welcome(member).await;
        if status == WelcomeEmail::Sent {
            self.settle_welcome(member.user_id, true).await;
        }
        status
    }

    /// The welcome sweep, now.
    pub async fn sweep_welcome(&self) -> Result<usize> {
        self.sweep_welcome_at(time::now().as_second()).await
    }

    /// Sends the welcome emails still owed whose claim lapsed as of `now` (epoch seconds; tests
    /// pass a time ahead): each claimed first, so a marker sent or claimed meanwhile is left
    /// alone, and marked sent after SES took it. Returns how many it sent.
    pub async fn sweep_welcome_at(&self, now: i64) -> Result<usize> {
        let mut sent = 0;
        for user_id in self.welcome.due(now, WELCOME_PER_SWEEP).await? {
            let Some(claimed) = self
                .welcome
                .claim(user_id, now, WELCOME_RETRY_SECONDS)
                .await?
            else {
                continue;
            };
            if claimed.attempts > MAX_WELCOME_SENDS {
                tracing::error!(
                    user_id,
                    attempts = claimed.attempts,
                    "welcome email abandoned"
                );
                self.settle_welcome(user_id, false).await;
                continue;
            }
            let state = self.members.state(&claimed.email).await?;
            let Some(member) = state.member.filter(|m| m.user_id == user_id) else {
                // Erased (or replaced) meanwhile: nobody to welcome.
                self.settle_welcome(user_id, false).await;
                continue;
            };
            if self.send_welcome(&member).await == WelcomeEmail::Sent {
                self.settle_welcome(user_id, true).await;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// What a replayed reply says about its welcome email: `sent` only if the marker says so.
    pub(super) async fn replayed(&self, r: StoredResponse) -> Executed {
        let mut body = r.body;
        let user_id = body["user_id"].as_i64();
        if let (Some("sent"), Some(id)) = (body["welcome_email"].as_str(), user_id) {
            let sent = match self.welcome.state(id).await {
                // No marker: a call from before markers, or one long expired.
                Ok(state) => state.is_none_or(|s| s == "sent"),
                Err(e) => {
                    tracing::warn!(error = %e, "welcome marker unreadable; the replay says failed");
                    false
                }
            };
            if !sent {
                body["welcome_email"] = json!(WelcomeEmail::Failed);
            }
        }
        Executed::Replayed {
            status: r.status,
            body,
        }
    }

    async fn settle_welcome(&self, user_id: i64, sent: bool) {
        if let Err(e) = self.welcome.settle(user_id, sent).await {
            // Still owed: the sweep may send it once more (at least once).
            tracing::warn!(error = %e, user_id, "welcome marker not settled");
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
                created_at: time::now_s(),
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
