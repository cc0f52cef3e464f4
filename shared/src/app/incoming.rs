//! Executing an incoming webhook (SPEC §4.1).
//!
//! Round trips: the webhook (GetItem by key), the member's partition (Query) and any
//! idempotency record (GetItem) are read concurrently; one TransactWriteItems then applies
//! every change with its conditions (email and login still free, memberships still in the
//! state planned, spaces and courses still existing), the run record, the counter and the
//! outbox batch. A failed condition re-plans from fresh state, so concurrent calls converge and
//! never half-apply. The queue send and the welcome email follow, concurrently.

use std::collections::BTreeSet;
use std::net::IpAddr;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::App;
use crate::domain::events::Event;
use crate::domain::incoming::{plan_memberships, IncomingWebhook, Outcome, Payload};
use crate::domain::member::{self, Member};
use crate::domain::{secret, time};
use crate::error::{Error, Result};
use crate::store::incoming::{Run, StoredResponse};
use crate::store::keys::{self, Kind};
use crate::store::members::MemberState;

/// One call of the webhook URL, as the transport layer hands it over.
#[derive(Clone, Default)]
pub struct Call {
    pub key: String,
    /// The parsed body fields (empty when the body could not be parsed).
    pub payload: Payload,
    /// Why the body could not be used; reported only after the webhook is resolved.
    pub body_error: Option<ErrorKind>,
    pub raw_body: Vec<u8>,
    pub source_ip: Option<IpAddr>,
    pub idempotency_key: Option<String>,
    /// `X-Webhook-Signature`.
    pub signature: Option<String>,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub standard_webhooks: Option<(String, String, String)>,
}

/// The key, the raw body, the signatures and the idempotency key never reach `Debug`.
impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("key", &"[redacted]")
            .field("payload", &self.payload)
            .field("body_error", &self.body_error)
            .field("raw_body_bytes", &self.raw_body.len())
            .field("source_ip", &self.source_ip)
            .finish_non_exhaustive()
    }
}

/// Body problems found by the transport, reported in the order of SPEC §4.1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    TooLarge(String),
    UnsupportedType(String),
    Malformed(String),
}

/// Status and JSON body of an execution.
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    pub status: StatusCode,
    pub body: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Profile,
    Login,
    Membership,
    Exists(Kind, i64),
    Webhook,
    Idempotency,
    Other,
}

const MAX_ATTEMPTS: usize = 8;

/// A member about to be created by this call (kept across re-plans so the id and the password
/// hash are computed once).
struct NewMember {
    member: Member,
    password_hash: String,
    logins: Vec<String>,
    login_index: usize,
}

impl App {
    /// Executes one call; every outcome, success or not, is an [`Executed`] or an [`Error`]
    /// rendered in the incoming shape.
    pub async fn execute(&self, call: Call) -> Result<Executed> {
        let email = call.payload.email().and_then(member::normalize_email);
        let key_hash = call
            .idempotency_key
            .as_deref()
            .map(|k| secret::sha256_hex(&format!("{}\n{}", call.key, k)));

        let (webhook, state, stored) = tokio::join!(
            self.store.webhook_by_key(&call.key),
            async {
                match &email {
                    Some(e) => self.store.member_state(e).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                match &key_hash {
                    Some(h) => self.store.stored_response(h).await,
                    None => Ok(None),
                }
            }
        );
        let webhook = webhook?.ok_or_else(|| {
            Error::NotFound("Invalid webhook URL: no webhook has this key.".into())
        })?;

        // Runs record the address as given when it is not valid (lower-cased, bounded).
        let email_ref = email.clone().or_else(|| {
            call.payload
                .email()
                .map(|e| crate::domain::incoming::truncate(&e.trim().to_lowercase(), 254))
        });
        let fail = |status: Error| async {
            self.record_failure(&webhook, &call, email_ref.as_deref(), &status)
                .await;
            Err::<Executed, Error>(status)
        };
        if !webhook.is_active() {
            return fail(Error::Locked("This webhook is disabled.".into())).await;
        }
        if !webhook.ip_allowed(call.source_ip) {
            return fail(Error::Forbidden(
                "This source IP address is not allowed to call this webhook.".into(),
            ))
            .await;
        }
        if !signature_ok(&webhook, &call) {
            return fail(Error::Forbidden("Missing or invalid signature.".into())).await;
        }
        match call.body_error.clone() {
            Some(ErrorKind::TooLarge(m)) => return fail(Error::PayloadTooLarge(m)).await,
            Some(ErrorKind::UnsupportedType(m)) => {
                return fail(Error::UnsupportedMediaType(m)).await
            }
            Some(ErrorKind::Malformed(m)) => return fail(Error::bad_json(m)).await,
            None => {}
        }
        let payload = &call.payload;
        let Some(email) = email else {
            let msg = if payload.email().is_some() {
                "The email address is not valid."
            } else {
                "A valid email address is required (field 'email')."
            };
            return fail(Error::Locked(msg.into())).await;
        };
        if let Some(r) = stored? {
            return Ok(replayed(r));
        }
        if !self.limiter.allow(webhook.id, time::now().as_second()) {
            return fail(Error::RateLimited).await;
        }
        let state = state?.unwrap_or_default();
        match self
            .apply(&webhook, &call, payload, &email, state, key_hash.as_deref())
            .await
        {
            Ok(done) => Ok(done),
            Err(e) => fail(e).await,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply(
        &self,
        webhook: &IncomingWebhook,
        call: &Call,
        payload: &Payload,
        email: &str,
        mut state: MemberState,
        key_hash: Option<&str>,
    ) -> Result<Executed> {
        let mut new_member: Option<NewMember> = None;
        let mut missing: BTreeSet<(Kind, i64)> = BTreeSet::new();
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt as u64)).await;
            }
            let now = time::now_rfc3339();
            let created = state.member.is_none();
            if created && new_member.is_none() {
                new_member = Some(self.prepare_member(webhook, payload, email).await?);
            }
            if !created {
                new_member = None;
            }
            let member = match (&state.member, &mut new_member) {
                (Some(m), _) => m.clone(),
                (None, Some(n)) => {
                    n.member.login = n
                        .logins
                        .get(n.login_index)
                        .cloned()
                        .unwrap_or_else(|| member::random_login(email));
                    n.member.display_name = member::display_name(
                        &n.member.first_name,
                        &n.member.last_name,
                        &n.member.login,
                    );
                    n.member.clone()
                }
                (None, None) => {
                    return Err(Error::Locked("The member could not be resolved.".into()))
                }
            };

            let missing_of = |kind: Kind| -> BTreeSet<i64> {
                missing
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, id)| *id)
                    .collect()
            };
            let current =
                |kind: Kind| -> BTreeSet<i64> { state.of(kind).keys().copied().collect() };
            let spaces = plan_memberships(
                &webhook.space_ids,
                &webhook.remove_space_ids,
                &current(Kind::Space),
                &missing_of(Kind::Space),
            );
            let courses = if self.config.course_module_enabled {
                plan_memberships(
                    &webhook.course_ids,
                    &webhook.remove_course_ids,
                    &current(Kind::Course),
                    &missing_of(Kind::Course),
                )
            } else {
                Outcome {
                    skipped: webhook
                        .course_ids
                        .iter()
                        .chain(&webhook.remove_course_ids)
                        .copied()
                        .collect(),
                    ..Outcome::default()
                }
            };

            let welcome = match (webhook.send_wp_welcome_email, created) {
                (false, _) => "not_requested",
                (true, false) => "existing_user",
                (true, true) => "sent",
            };
            let mut body = json!({
                "status": "success",
                "success": true,
                "message": "webhook has been successfully executed",
                "execution_timestamp": time::now().as_second(),
                "user_id": member.user_id,
                "created": created,
                "spaces": spaces,
                "courses": courses,
                "welcome_email": welcome,
            });

            // Writes, each tagged with what its condition protects.
            let store = &self.store;
            let mut items = Vec::new();
            if let Some(n) = &new_member {
                items.push((Tag::Profile, store.put_profile(&member, &n.password_hash)?));
                items.push((Tag::Login, store.put_login_claim(&member)?));
            }
            let mut events = Vec::new();
            let xprofile = Some(member.xprofile());
            let base = |extra: Value| -> Value {
                let mut data = json!({"user_id": member.user_id, "incoming_webhook_id": webhook.id, "user": member.public()});
                if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
                    d.extend(e.clone());
                }
                data
            };
            if created {
                events.push(Event::new(
                    "user.registered",
                    base(json!({})),
                    Some(member.user_id),
                    xprofile.clone(),
                ));
            }
            for (kind, outcome, joined, left) in [
                (
                    Kind::Space,
                    &spaces,
                    "space.member_joined",
                    "space.member_left",
                ),
                (
                    Kind::Course,
                    &courses,
                    "course.enrolled",
                    "course.unenrolled",
                ),
            ] {
                let id_field = format!("{}_id", kind.noun());
                for id in &outcome.removed {
                    items.push((Tag::Membership, store.delete_membership(kind, *id, email)?));
                    items.push((
                        Tag::Exists(kind, *id),
                        store.check_exists(kind.catalog(), &keys::id_sk(*id))?,
                    ));
                    events.push(Event::new(
                        left,
                        base(json!({ id_field.clone(): id })),
                        Some(member.user_id),
                        xprofile.clone(),
                    ));
                }
                for id in &outcome.added {
                    items.push((
                        Tag::Membership,
                        store.put_membership(kind, *id, &member, Some(webhook.id), &now)?,
                    ));
                    items.push((
                        Tag::Exists(kind, *id),
                        store.check_exists(kind.catalog(), &keys::id_sk(*id))?,
                    ));
                    events.push(Event::new(
                        joined,
                        base(json!({ id_field.clone(): id })),
                        Some(member.user_id),
                        xprofile.clone(),
                    ));
                }
            }
            events.push(Event::new(
                "incoming_webhook.processed",
                base(json!({"email": email, "created": created, "spaces": spaces, "courses": courses})),
                Some(member.user_id),
                xprofile.clone(),
            ));
            items.push((Tag::Webhook, store.count_run(webhook.id, &now)?));
            let run = Run {
                id: crate::domain::time::new_ulid().to_string(),
                webhook_id: webhook.id,
                time: now.clone(),
                email: Some(email.to_string()),
                user_id: Some(member.user_id),
                created,
                outcome: "success".into(),
                status_code: 200,
                spaces: spaces.clone(),
                courses: courses.clone(),
                welcome_email: Some(welcome.into()),
                source_ip: call.source_ip.map(|ip| ip.to_string()),
                error: None,
            };
            items.push((
                Tag::Other,
                store.put_run(&run, self.config.log_retention_days)?,
            ));
            let stored = StoredResponse {
                status: 200,
                body: body.clone(),
                expires_at: time::now().as_second() + 86_400,
            };
            if let Some(h) = key_hash {
                items.push((Tag::Idempotency, store.put_stored_response(h, &stored)?));
            }

            match self.commit_with_events(items, events, Tag::Other).await? {
                Ok(()) => {
                    if created && webhook.send_wp_welcome_email {
                        let status = self.send_welcome(&member).await;
                        body["welcome_email"] = json!(status);
                        if status != "sent" {
                            if let Some(h) = key_hash {
                                let amended = StoredResponse {
                                    body: body.clone(),
                                    ..stored
                                };
                                if let Err(e) = store.amend_stored_response(h, &amended).await {
                                    tracing::warn!(error = %e, "could not amend the stored response");
                                }
                            }
                        }
                    }
                    tracing::info!(
                        webhook_id = webhook.id,
                        user_id = member.user_id,
                        created,
                        "incoming webhook executed"
                    );
                    return Ok(Executed {
                        status: StatusCode::OK,
                        body,
                    });
                }
                Err(failed) => {
                    if failed.contains(&Tag::Idempotency) {
                        if let Some(h) = key_hash {
                            if let Some(r) = store.stored_response(h).await? {
                                return Ok(replayed(r));
                            }
                        }
                    }
                    if failed.contains(&Tag::Webhook) {
                        return Err(Error::NotFound(
                            "Invalid webhook URL: no webhook has this key.".into(),
                        ));
                    }
                    let mut refresh = failed.is_empty()
                        || failed.contains(&Tag::Profile)
                        || failed.contains(&Tag::Membership);
                    for tag in &failed {
                        if let Tag::Exists(kind, id) = tag {
                            missing.insert((*kind, *id));
                        }
                    }
                    if failed.contains(&Tag::Login) && !failed.contains(&Tag::Profile) {
                        if let Some(n) = &mut new_member {
                            n.login_index += 1;
                        }
                    }
                    if failed.iter().any(|t| matches!(t, Tag::Exists(..))) {
                        refresh = true;
                    }
                    if refresh {
                        state = store.member_state(email).await?;
                    }
                }
            }
        }
        Err(Error::Dependency(
            "the execution kept conflicting with concurrent changes".into(),
        ))
    }

    /// Allocates an id and hashes the password of a member this call may create.
    async fn prepare_member(
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
            self.store.next_id("user"),
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
                status: "active".into(),
                meta: payload.mapped_meta(&webhook.field_map),
                created_at: time::now_rfc3339(),
                origin: format!("incoming_webhook:{}", webhook.id),
            },
            password_hash,
            logins,
            login_index: 0,
        })
    }

    async fn send_welcome(&self, member: &Member) -> &'static str {
        let email = match crate::mail::welcome_email(&self.config, member) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "welcome email could not be rendered");
                return "failed";
            }
        };
        match self.mailer.send(&email).await {
            Ok(()) => "sent",
            Err(e) => {
                tracing::warn!(error = %e, user_id = member.user_id, "welcome email failed");
                "failed"
            }
        }
    }

    /// Records a refused call in the activity log.
    async fn record_failure(
        &self,
        webhook: &IncomingWebhook,
        call: &Call,
        email: Option<&str>,
        error: &Error,
    ) {
        let run = Run {
            id: crate::domain::time::new_ulid().to_string(),
            webhook_id: webhook.id,
            time: time::now_rfc3339(),
            email: email.map(str::to_string),
            user_id: None,
            created: false,
            outcome: "failed".into(),
            status_code: error.status().as_u16(),
            spaces: Outcome::default(),
            courses: Outcome::default(),
            welcome_email: None,
            source_ip: call.source_ip.map(|ip| ip.to_string()),
            error: Some(error.to_string()),
        };
        self.store
            .record_run(&run, self.config.log_retention_days)
            .await;
    }
}

fn replayed(r: StoredResponse) -> Executed {
    Executed {
        status: StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK),
        body: r.body,
    }
}

/// The optional signing rule of SPEC §4.3: `X-Webhook-Signature: sha256=<hex>` over the raw
/// body, or valid Standard Webhooks headers.
fn signature_ok(webhook: &IncomingWebhook, call: &Call) -> bool {
    let Some(secret) = &webhook.signing_secret else {
        return true;
    };
    if let Some(sig) = &call.signature {
        if secret::verify_sha256_header(secret.as_bytes(), &call.raw_body, sig) {
            return true;
        }
    }
    if let Some((id, ts, sigs)) = &call.standard_webhooks {
        return secret::standard_webhooks_verify(
            secret,
            id,
            ts,
            sigs,
            &call.raw_body,
            time::now().as_second(),
        );
    }
    false
}
