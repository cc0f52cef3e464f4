//! One call of an incoming webhook URL, as the transport hands it over, what its execution
//! returns, and the checks that admit it (active, source address, signature, body, email).

use std::net::IpAddr;

use serde_json::Value;

use crate::domain::incoming::plan::Applied;
use crate::domain::incoming::providers::Headers;
use crate::domain::incoming::rules::ObjectState;
use crate::domain::incoming::run::RunOutcome;
use crate::domain::incoming::{IncomingWebhook, Payload};
use crate::domain::{secret, time};
use crate::error::{Error, Result};

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
    /// Every header (provider sources read their own).
    pub headers: Headers,
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

/// Body problems found by the transport, reported in the order of docs/reference/incoming.md
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    TooLarge(String),
    UnsupportedType(String),
    Malformed(String),
}

/// What an execution answers; the transport renders it (`transport::incoming`), each variant
/// in one place.
#[derive(Clone, Debug, PartialEq)]
pub enum Executed {
    /// The plan was committed (`200`); its welcome email is settled.
    Applied(Applied),
    /// A provider event answered without acting (`200`): ignored or unresolved.
    Skipped {
        outcome: RunOutcome,
        reason: String,
        /// The event's type, when the body was an event.
        event: Option<String>,
    },
    /// The reply stored for an earlier call with the same idempotency key.
    Replayed { status: u16, body: Value },
}

/// One execution under way: the resolved webhook and what the call brought.
pub(crate) struct Execution<'a> {
    pub webhook: &'a IncomingWebhook,
    pub payload: &'a Payload,
    pub email: &'a str,
    pub source_ip: Option<IpAddr>,
    pub key_hash: Option<&'a str>,
    /// Provider sources: the event type, recorded in the run.
    pub event: Option<String>,
    /// Provider sources: the objects' new states, with the revisions they were read at.
    pub objects: Vec<(ObjectState, i64)>,
}

/// Whether the webhook takes calls from this source: it must be active and allow the caller's
/// address.
pub(super) fn admitted(webhook: &IncomingWebhook, call: &Call) -> Result<()> {
    if !webhook.is_active() {
        return Err(Error::Locked("This webhook is disabled.".into()));
    }
    if !webhook.ip_allowed(call.source_ip) {
        return Err(Error::Forbidden(
            "This source IP address is not allowed to call this webhook.".into(),
        ));
    }
    Ok(())
}

/// The member's email of a form call, once its signature and body are checked
/// (docs/reference/incoming.md).
pub(super) fn form_email(
    webhook: &IncomingWebhook,
    call: &Call,
    email: Option<String>,
) -> Result<String> {
    if !signature_ok(webhook, call) {
        return Err(Error::Forbidden("Missing or invalid signature.".into()));
    }
    match call.body_error.clone() {
        Some(ErrorKind::TooLarge(m)) => return Err(Error::PayloadTooLarge(m)),
        Some(ErrorKind::UnsupportedType(m)) => return Err(Error::UnsupportedMediaType(m)),
        Some(ErrorKind::Malformed(m)) => return Err(Error::bad_json(m)),
        None => {}
    }
    email.ok_or_else(|| {
        let msg = if call.payload.email().is_some() {
            "The email address is not valid."
        } else {
            "A valid email address is required (field 'email')."
        };
        Error::Locked(msg.into())
    })
}

/// The optional signing rule of docs/reference/incoming.md#urls-and-bodies: `X-Webhook-Signature:
/// sha256=<hex>` over the raw body, or valid Standard Webhooks headers.
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
