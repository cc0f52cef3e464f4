//! Provider sources (docs/reference/providers.md): each provider's signature scheme, exactly as its
//! SDK verifies it, and what its events say (type, status, event id, email, name, customer, the
//! objects and products they name). Pure: the caller passes the clock.

mod forms;
mod sample;
mod shops;
mod stripe;
mod subscriptions;

pub use sample::{sample, Sample};

use std::collections::BTreeMap;

use super::limits;
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde_json::Value;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

crate::wire_enum! {
    #[wire = "lowercase"]
    /// Who calls an incoming webhook.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum Source {
        /// The seeds' form call (docs/reference/incoming.md).
        #[default]
        Form,
        Stripe,
        Shopify,
        Woocommerce,
        Paddle,
        Lemonsqueezy,
        Gumroad,
        Typeform,
        #[serde(rename = "standard-webhooks")]
        #[strum(serialize = "standard-webhooks")]
        StandardWebhooks,
    }
}

impl Source {
    /// Whether the provider signs its calls (all but Gumroad and the form).
    pub fn signed(self) -> bool {
        !matches!(self, Source::Form | Source::Gumroad)
    }
}

/// Request headers, names lower-cased.
#[derive(Clone, Default)]
pub struct Headers(pub Vec<(String, String)>);

/// Names only: values include signatures.
impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_tuple("Headers").field(&names).finish()
    }
}

impl Headers {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a signature was refused (all answer `403`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigError {
    Missing,
    Invalid,
    Stale,
    /// A signed provider, but no `source_secret` configured.
    NoSecret,
}

impl SigError {
    pub fn message(self) -> &'static str {
        match self {
            SigError::Missing => "Missing provider signature.",
            SigError::Invalid => "Invalid provider signature.",
            SigError::Stale => "The provider signature's timestamp is outside the tolerance.",
            SigError::NoSecret => {
                "This webhook has no source_secret to verify the provider's signature."
            }
        }
    }
}

/// Verifies a call of `source` over the raw body bytes; `now` is Unix seconds.
pub fn verify(
    source: Source,
    secret: Option<&str>,
    headers: &Headers,
    body: &[u8],
    now: i64,
) -> Result<(), SigError> {
    if !source.signed() {
        return Ok(());
    }
    let secret = secret.ok_or(SigError::NoSecret)?;
    match source {
        Source::Stripe => stripe::verify(secret, headers, body, now),
        Source::Paddle => subscriptions::verify_paddle(secret, headers, body, now),
        Source::Shopify => shops::verify_shopify(secret, headers, body),
        Source::Woocommerce => shops::verify_woocommerce(secret, headers, body),
        Source::Lemonsqueezy => subscriptions::verify_lemonsqueezy(secret, headers, body),
        Source::Typeform => forms::verify_typeform(secret, headers, body),
        Source::StandardWebhooks => forms::verify_standard(secret, headers, body, now),
        Source::Form | Source::Gumroad => Ok(()),
    }
}

/// The headers a provider would send with `body`, signed with `secret` at `now` (the "send
/// sample event" action and tests). `topic` is the event type for providers that carry it in
/// a header; `id` the delivery id where the scheme has one.
pub fn sign(
    source: Source,
    secret: &str,
    body: &[u8],
    now: i64,
    topic: &str,
    id: &str,
) -> Vec<(String, String)> {
    let t = now.to_string();
    let b64 = |key: &[u8]| B64.encode(hmac(key, &[body]));
    let pairs: Vec<(&str, String)> = match source {
        Source::Stripe => vec![(
            "stripe-signature",
            format!(
                "t={t},v1={}",
                hex(&hmac(secret.as_bytes(), &[t.as_bytes(), b".", body]))
            ),
        )],
        Source::Paddle => vec![(
            "paddle-signature",
            format!(
                "ts={t};h1={}",
                hex(&hmac(secret.as_bytes(), &[t.as_bytes(), b":", body]))
            ),
        )],
        Source::Shopify => vec![
            ("x-shopify-hmac-sha256", b64(secret.as_bytes())),
            ("x-shopify-topic", topic.into()),
            ("x-shopify-event-id", id.into()),
            (
                "x-shopify-triggered-at",
                jiff::Timestamp::from_second(now)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            ),
        ],
        Source::Woocommerce => vec![
            (
                "x-wc-webhook-signature",
                b64(shops::wp_specialchars_decode(secret).as_bytes()),
            ),
            ("x-wc-webhook-topic", topic.into()),
        ],
        Source::Lemonsqueezy => vec![
            ("x-signature", hex(&hmac(secret.as_bytes(), &[body]))),
            ("x-event-name", topic.into()),
        ],
        Source::Typeform => vec![(
            "typeform-signature",
            format!("sha256={}", b64(secret.as_bytes())),
        )],
        Source::StandardWebhooks => {
            let key = secret
                .strip_prefix("whsec_")
                .and_then(|b| B64.decode(b).ok())
                .unwrap_or_else(|| secret.as_bytes().to_vec());
            let sig = B64.encode(hmac(&key, &[id.as_bytes(), b".", t.as_bytes(), b".", body]));
            vec![
                ("webhook-id", id.into()),
                ("webhook-timestamp", t.clone()),
                ("webhook-signature", format!("v1,{sig}")),
            ]
        }
        Source::Form | Source::Gumroad => vec![],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A parsed provider call: JSON, or (Gumroad) form fields.
#[derive(Clone, Debug)]
pub enum Body {
    Json(Value),
    Form(BTreeMap<String, String>),
}

/// What a provider event says, provider-neutral.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderEvent {
    /// The event type (`checkout.session.completed`, `orders/paid`, `sale`, ...).
    pub kind: String,
    /// The status field rules may test (Stripe `payment_status`, Woo `status`, ...).
    pub status: Option<String>,
    /// The provider's stable event id, or one derived from the payload.
    pub id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The provider's customer id (resolves the member when the event has no email).
    pub customer: Option<String>,
    /// Provider objects the event names, prefixed with the provider (`stripe:sub_1`).
    pub objects: Vec<String>,
    /// Product, price, variant or permalink ids `products` may match.
    pub products: Vec<String>,
    /// When the provider says the event happened (Unix seconds).
    pub occurred_at: Option<i64>,
    /// When the subscription period the event names ends (Unix seconds), for `period_end`
    /// timed access.
    pub period_end: Option<i64>,
}

/// Reads a provider event; `None` when the body is not what the provider sends.
pub fn extract(source: Source, headers: &Headers, body: &Body) -> Option<ProviderEvent> {
    let mut ev = match (source, body) {
        (Source::Stripe, Body::Json(v)) => stripe::extract(v),
        (Source::Shopify, Body::Json(v)) => shops::extract_shopify(headers, v),
        (Source::Woocommerce, Body::Json(v)) => shops::extract_woocommerce(headers, v),
        (Source::Paddle, Body::Json(v)) => subscriptions::extract_paddle(v),
        (Source::Lemonsqueezy, Body::Json(v)) => subscriptions::extract_lemonsqueezy(headers, v),
        (Source::Gumroad, Body::Form(f)) => forms::extract_gumroad(f),
        (Source::Gumroad, Body::Json(Value::Object(m))) => {
            forms::extract_gumroad(&m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        }
        (Source::Typeform, Body::Json(v)) => forms::extract_typeform(v),
        (Source::StandardWebhooks, Body::Json(v)) => forms::extract_standard(headers, v),
        _ => None,
    }?;
    ev.email = ev
        .email
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    ev.objects
        .retain(|o| !o.ends_with(':') && o.chars().count() <= limits::OBJECT_MAX_CHARS);
    ev.objects.dedup();
    ev.objects.truncate(limits::MAX_OBJECTS);
    ev.products.retain(|p| !p.is_empty());
    ev.products.dedup();
    Some(ev)
}

/// The body a WooCommerce webhook sends when it is created: `webhook_id=<n>`, unsigned.
pub fn is_woocommerce_ping(fields: &BTreeMap<String, String>) -> bool {
    fields.len() == 1
        && fields
            .get("webhook_id")
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

// --- helpers shared by the providers ---------------------------------------------------------

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two byte strings.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// `base64(HMAC-SHA256(key, body))` compared with a base64 header value, constant-time.
fn verify_b64(key: &[u8], body: &[u8], given: Option<&str>) -> Result<(), SigError> {
    let given = given
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .ok_or(SigError::Missing)?;
    let given = B64.decode(given).map_err(|_| SigError::Invalid)?;
    if ct_eq(&hmac(key, &[body]), &given) {
        Ok(())
    } else {
        Err(SigError::Invalid)
    }
}

/// A JSON value at a path of object keys.
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// A string or integer id, read exactly (integers beyond 2^53 keep every digit; floats are
/// not ids).
fn id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `provider:id` for each id present.
fn objects(provider: &str, ids: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    ids.into_iter()
        .flatten()
        .map(|i| format!("{provider}:{i}"))
        .collect()
}

/// Splits a full name on its first space ("Mary Ann Smith" → "Mary", "Ann Smith").
pub fn split_name(full: &str) -> (Option<String>, Option<String>) {
    let full = full.split_whitespace().collect::<Vec<_>>().join(" ");
    match full.split_once(' ') {
        Some((first, last)) => (Some(first.to_string()), Some(last.to_string())),
        None if full.is_empty() => (None, None),
        None => (Some(full), None),
    }
}

/// Parses an RFC 3339 time, or a zone-less one taken as UTC (WooCommerce `*_gmt`).
fn time(s: Option<String>) -> Option<i64> {
    let s = s?;
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_second());
    }
    s.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_second())
}

#[cfg(test)]
mod tests;
