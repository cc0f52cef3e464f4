//! Executing a provider event (docs/reference/providers.md): verify the provider's signature over
//! the raw body, read the event, decide by the webhook's rules, resolve the member (the event's
//! email first, then the customer id mapped within this webhook), refuse events older than what was
//! applied to the same provider objects, then plan and commit like a form call (grants with their
//! provenance).

use serde_json::Value;

use super::Incoming;
use super::{Call, ErrorKind, Executed, Execution};
use crate::domain::incoming::plan::Intent;
use crate::domain::incoming::providers::{self, Body, ProviderEvent, Source};
use crate::domain::incoming::rules::{self, Action};
use crate::domain::incoming::run::{Run, RunOutcome};
use crate::domain::incoming::{IncomingWebhook, Payload};
use crate::domain::{member, secret, time};
use crate::error::{Error, Result};

/// A grant or revoke decided for a verified event, before the member is resolved.
struct Decided {
    action: Action,
    intent: Intent,
    email: Option<String>,
    key_hash: Option<String>,
    seen: Vec<crate::domain::incoming::rules::ObjectState>,
    at: i64,
}

/// A provider event answered without acting: `ignored` or `unresolved`, with the reason.
struct Skip {
    outcome: RunOutcome,
    reason: String,
    email: Option<String>,
}

impl Skip {
    fn ignored(reason: impl Into<String>) -> Self {
        Self {
            outcome: RunOutcome::Ignored,
            reason: reason.into(),
            email: None,
        }
    }

    fn unresolved(reason: impl Into<String>, email: Option<String>) -> Self {
        Self {
            outcome: RunOutcome::Unresolved,
            reason: reason.into(),
            email,
        }
    }
}

impl Incoming {
    /// A call of a webhook whose `source` is a provider; the caller records refusals.
    pub(crate) async fn execute_provider(
        &self,
        webhook: &IncomingWebhook,
        call: &Call,
    ) -> Result<Executed> {
        let source = webhook.source;
        let now = time::now().as_second();
        if source == Source::Woocommerce
            && call.headers.get("x-wc-webhook-signature").is_none()
            && providers::is_woocommerce_ping(&call.payload.fields)
        {
            let reason = "WooCommerce webhook ping";
            return Ok(Executed::Skipped {
                outcome: RunOutcome::Ignored,
                reason: reason.into(),
                event: None,
            });
        }
        if let Some(ErrorKind::TooLarge(m)) = &call.body_error {
            return Err(Error::PayloadTooLarge(m.clone()));
        }
        let secret = webhook.source_secret.as_ref().map(|s| s.expose());
        providers::verify(source, secret, &call.headers, &call.raw_body, now)
            .map_err(|e| Error::Forbidden(e.message().into()))?;
        let body = match (
            &call.body_error,
            serde_json::from_slice::<Value>(&call.raw_body),
        ) {
            (_, Ok(v)) => Body::Json(v),
            (None, Err(_)) if source == Source::Gumroad => Body::Form(call.payload.fields.clone()),
            (Some(ErrorKind::UnsupportedType(m)), _) => {
                return Err(Error::UnsupportedMediaType(m.clone()))
            }
            _ => return Err(Error::bad_json("the body is not valid JSON")),
        };
        let Some(ev) = providers::extract(source, &call.headers, &body) else {
            let reason = format!("the body is not a {} event", source);
            return self.skip(webhook, call, None, Skip::ignored(reason)).await;
        };
        if !self.limiter.allow(webhook.id, now) {
            return Err(Error::RateLimited);
        }
        match self.provider_event(webhook, call, &ev, now).await? {
            Ok(done) => Ok(done),
            Err(skip) => self.skip(webhook, call, Some(&ev), skip).await,
        }
    }

    /// Decides and applies one verified event; `Err(skip)` when it is answered without acting.
    async fn provider_event(
        &self,
        webhook: &IncomingWebhook,
        call: &Call,
        ev: &ProviderEvent,
        now: i64,
    ) -> Result<std::result::Result<Executed, Skip>> {
        let source = webhook.source;
        let key_hash = ev
            .id
            .as_ref()
            .map(|id| secret::sha256_hex(&format!("{}\nevent:{id}", call.key)));
        let (stored, mapped, seen) = tokio::join!(
            async {
                match &key_hash {
                    Some(h) => self.webhooks.stored_response(h).await,
                    None => Ok(None),
                }
            },
            async {
                match &ev.customer {
                    Some(c) => self.providers.customer_email(webhook.id, source, c).await,
                    None => Ok(None),
                }
            },
            self.providers.object_states(webhook.id, &ev.objects),
        );
        if let Some(r) = stored? {
            return Ok(Ok(self.replayed(r).await));
        }
        let event_email = ev.email.as_deref().and_then(member::normalize_email);
        let mapped = mapped?;
        // Record (or correct) who a customer id is in this webhook, whatever the event does.
        if let (Some(c), Some(e)) = (&ev.customer, &event_email) {
            if mapped.as_ref() != Some(e) {
                self.providers
                    .map_customer(webhook.id, source, c, e)
                    .await?;
            }
        }
        let decision = rules::decide(&webhook.effective_rules(), ev);
        let action = decision.action;
        if action == Action::Ignore {
            let mut skip = Skip::ignored(decision.reason.unwrap_or_default());
            skip.email = event_email;
            return Ok(Err(skip));
        }
        let expires_at = decision
            .access
            .and_then(|a| a.expires_at(now, ev))
            .and_then(|secs| jiff::Timestamp::from_second(secs).ok());
        let intent = match intent(webhook, ev, action, expires_at) {
            Ok(i) => i,
            Err(mut skip) => {
                skip.email = event_email;
                return Ok(Err(skip));
            }
        };
        let decided = Decided {
            action,
            intent,
            // The event's own email wins; the map serves events that carry only a customer id.
            email: event_email.or(mapped),
            key_hash,
            seen: seen?,
            // A time in the future is clamped to now: it cannot outrank what comes next.
            at: ev.occurred_at.map_or(now, |t| t.min(now)),
        };
        self.resolve_and_apply(webhook, call, ev, decided).await
    }

    /// Refuses events older than what was applied to their objects, resolves the member and
    /// applies the grant or revoke.
    async fn resolve_and_apply(
        &self,
        webhook: &IncomingWebhook,
        call: &Call,
        ev: &ProviderEvent,
        d: Decided,
    ) -> Result<std::result::Result<Executed, Skip>> {
        let Decided {
            action,
            intent,
            email,
            key_hash,
            seen,
            at,
        } = d;
        if let Some(newer) = rules::stale(&seen, at, action) {
            let mut skip = Skip::ignored(format!(
                "an event newer than this one was already applied to {newer}"
            ));
            skip.email = email;
            return Ok(Err(skip));
        }
        let objects = rules::next_states(&seen, &ev.objects, at, action);
        let state = match &email {
            Some(e) => Some(self.members.state(e).await?),
            None => None,
        };
        let resolved = match (email, state) {
            (Some(e), Some(st)) if st.member.is_some() || action == Action::Grant => Some((e, st)),
            _ => None,
        };
        let Some((email, state)) = resolved else {
            let why = unresolved_reason(ev, action);
            if action == Action::Revoke {
                // A revoke that found no one still outranks an older grant arriving later.
                self.providers
                    .put_object_states(webhook.id, &objects)
                    .await?;
            }
            return Ok(Err(Skip::unresolved(why, ev.email.clone())));
        };
        let mut payload = Payload::default();
        for (k, v) in [("first_name", &ev.first_name), ("last_name", &ev.last_name)] {
            if let Some(v) = v {
                payload.fields.insert(k.into(), v.clone());
            }
        }
        let x = Execution {
            webhook,
            payload: &payload,
            email: &email,
            source_ip: call.source_ip,
            key_hash: key_hash.as_deref(),
            event: Some(ev.kind.clone()),
            objects,
        };
        self.apply(&x, intent, state).await.map(Ok)
    }

    /// Logs an ignored or unresolved event and answers `200`.
    async fn skip(
        &self,
        webhook: &IncomingWebhook,
        call: &Call,
        ev: Option<&ProviderEvent>,
        skip: Skip,
    ) -> Result<Executed> {
        let mut run = Run::new(webhook.id, time::now(), skip.outcome, 200);
        run.email = skip.email;
        run.source_ip = call.source_ip.map(|ip| ip.to_string());
        run.event = ev.map(|e| e.kind.clone());
        run.reason = Some(skip.reason.clone());
        super::observe(skip.outcome, webhook.source);
        self.runs.record(&run).await;
        tracing::info!(
            webhook_id = webhook.id,
            outcome = ?skip.outcome,
            "provider event not acted on"
        );
        Ok(Executed::Skipped {
            outcome: skip.outcome,
            reason: skip.reason,
            event: run.event,
        })
    }
}

fn unresolved_reason(ev: &ProviderEvent, action: Action) -> String {
    match (&ev.email, &ev.customer) {
        (Some(_), _) if action == Action::Revoke => "no member has this email".into(),
        (Some(e), _) => format!(
            "'{}' is not a valid email address",
            crate::domain::incoming::truncate(e, 100)
        ),
        (None, Some(c)) => {
            format!("the event has no email and customer '{c}' was never seen with one")
        }
        (None, None) => "the event has no email and no customer id".into(),
    }
}

/// What a grant or revoke event asks for; a purchase matching none of `products` is ignored.
fn intent(
    webhook: &IncomingWebhook,
    ev: &ProviderEvent,
    action: Action,
    expires_at: Option<jiff::Timestamp>,
) -> std::result::Result<Intent, Skip> {
    if action != Action::Grant {
        return Ok(Intent::Revoke {
            objects: ev.objects.clone(),
        });
    }
    let (spaces, courses) = rules::targets(
        &webhook.products,
        ev,
        &webhook.space_ids,
        &webhook.course_ids,
    )
    .ok_or_else(|| Skip::ignored("no product of this purchase is in products"))?;
    Ok(Intent::Grant {
        spaces,
        courses,
        objects: ev.objects.clone(),
        expires_at,
    })
}
