//! Outgoing webhook endpoints: configuration, validation, address rules, retry schedule, and
//! the signed request of one delivery attempt (SPEC §6.3, §6.4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::egress::check_url;
use super::events::{is_valid_pattern, pattern_matches};
use super::fields::string_field;
use super::format::Destination;
use super::incoming::truncate;
use super::secret;
use crate::error::{Error, Result};

/// An endpoint's configuration (what admins edit).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointConfig {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub retry_count: u32,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub revision: i64,
    /// `none` (default) or `fifo` (SPEC §6.7).
    #[serde(default)]
    pub ordering: Ordering,
    /// The body format (SPEC §6.8).
    #[serde(default)]
    pub destination: Destination,
}

/// How an endpoint's deliveries are sequenced.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// Every delivery is sent as soon as its event is fanned out (concurrently).
    #[default]
    None,
    /// One at a time, in publish order; a failing delivery holds the line.
    Fifo,
}

impl Ordering {
    fn parse(body: &Map<String, Value>) -> Result<Option<Self>> {
        match body.get("ordering") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|_| Error::invalid("ordering", "must be none or fifo")),
        }
    }
}

// The signing secret and custom header values read `[redacted]`.
crate::redacted_debug!(EndpointConfig, EndpointPatch);

/// An endpoint's state: `active` or `inactive` as an admin sets it, `failed` when deliveries
/// disabled it (`410`, or too many failures in a row).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointStatus {
    Active,
    Inactive,
    Failed,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for EndpointStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An endpoint with its delivery state (`status` is set by admins and by failures).
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub config: EndpointConfig,
    pub status: EndpointStatus,
    pub last_triggered_at: Option<String>,
    pub last_error: Option<String>,
    pub consecutive_failures: i64,
    /// Re-activated after `failed`, waiting for its first successful delivery.
    pub recovering: bool,
}

impl Endpoint {
    pub fn id(&self) -> i64 {
        self.config.id
    }

    pub fn is_active(&self) -> bool {
        self.status == EndpointStatus::Active
    }

    /// Whether a successful delivery at `now` must be written: it resets the failure count,
    /// ends a recovery, or `last_triggered_at` is older than [`TRIGGERED_GRANULARITY_SECS`]
    /// (kept coarse, so that a success after successes writes nothing).
    pub fn success_changes_health(&self, now: jiff::Timestamp) -> bool {
        let recent = self
            .last_triggered_at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_some_and(|t| {
                (now - jiff::SignedDuration::from_secs(TRIGGERED_GRANULARITY_SECS)) < t
            });
        self.consecutive_failures != 0 || self.recovering || !recent
    }

    pub fn is_fifo(&self) -> bool {
        self.config.ordering == Ordering::Fifo
    }

    pub fn subscribed(&self, event: &str) -> bool {
        self.config.events.iter().any(|p| pattern_matches(p, event))
    }

    /// The seed's webhook object.
    pub fn view(&self) -> Value {
        let c = &self.config;
        json!({
            "id": c.id,
            "name": c.name,
            "url": c.url,
            "events": c.events,
            "status": self.status,
            "secret": c.secret,
            "headers": c.headers,
            "retry_count": c.retry_count,
            "ordering": c.ordering,
            "format": c.destination.format,
            "message_template": c.destination.message_template,
            "template": c.destination.template,
            "content_type": c.destination.content_type(),
            "last_triggered_at": self.last_triggered_at,
            "last_error": self.last_error,
            "consecutive_failures": self.consecutive_failures,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        })
    }
}

/// How stale `last_triggered_at` may get before a success writes it again.
pub const TRIGGERED_GRANULARITY_SECS: i64 = 60;

/// Admin input for an endpoint, validated field by field.
#[derive(Clone, Default, Serialize)]
pub struct EndpointPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// Only `active` or `inactive`: `failed` is the deliveries' to set.
    pub status: Option<EndpointStatus>,
    pub secret: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub retry_count: Option<u32>,
    pub ordering: Option<Ordering>,
}

/// Headers an endpoint may not set: they carry the signature, identify the delivery or belong
/// to the transport.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "user-agent",
    "x-fluent-signature",
    "x-fluentcrm-signature",
    "x-fluentcrm-event",
    "x-fluentcrm-webhook-id",
    "x-fluentcrm-delivery",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

impl EndpointPatch {
    pub fn from_json(body: &Map<String, Value>, creating: bool, local_mode: bool) -> Result<Self> {
        let name = string_field(body, "name", 200)?;
        let url = match body.get("url") {
            None if creating => return Err(Error::bad_url("Webhook URL is required.")),
            None => None,
            Some(Value::String(u)) => Some(check_url(u.trim(), local_mode)?),
            Some(_) => return Err(Error::bad_url("Webhook URL must be a valid HTTPS URL.")),
        };
        if creating && name.is_none() {
            return Err(Error::invalid("name", "is required"));
        }
        let events = match body.get("events") {
            None if creating => {
                return Err(Error::invalid(
                    "events",
                    "is required (a list of event types)",
                ))
            }
            None => None,
            Some(Value::Array(items)) if !items.is_empty() => {
                let mut out: Vec<String> = Vec::new();
                for item in items {
                    let e = item.as_str().ok_or_else(|| {
                        Error::invalid("events", "must be a list of event type strings")
                    })?;
                    if !is_valid_pattern(e) {
                        return Err(Error::bad_event(&truncate(e, 80)));
                    }
                    if !out.iter().any(|x| x == e) {
                        out.push(e.to_string());
                    }
                }
                Some(out)
            }
            Some(_) => {
                return Err(Error::invalid(
                    "events",
                    "must be a non-empty list of event types",
                ))
            }
        };
        let status = match string_field(body, "status", 20)? {
            Some(s) if s == "active" => Some(EndpointStatus::Active),
            Some(s) if s == "inactive" => Some(EndpointStatus::Inactive),
            Some(_) => return Err(Error::invalid("status", "must be active or inactive")),
            None => None,
        };
        let secret = match body.get("secret") {
            None | Some(Value::Null) => None,
            Some(Value::String(s))
                if (8..=256).contains(&s.len()) && !s.chars().any(char::is_control) =>
            {
                Some(s.clone())
            }
            Some(_) => {
                return Err(Error::invalid(
                    "secret",
                    "must be a string of 8 to 256 characters",
                ))
            }
        };
        let headers = match body.get("headers") {
            None => None,
            Some(Value::Null) => Some(BTreeMap::new()),
            Some(Value::Object(m)) => {
                if m.len() > 20 {
                    return Err(Error::invalid("headers", "at most 20 custom headers"));
                }
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    let value = v.as_str().ok_or_else(|| {
                        Error::invalid(
                            "headers",
                            format!("'{}' must have a string value", truncate(k, 40)),
                        )
                    })?;
                    let name_ok = http::HeaderName::from_bytes(k.as_bytes()).is_ok();
                    let value_ok =
                        http::HeaderValue::from_str(value).is_ok() && value.len() <= 4096;
                    if !name_ok || !value_ok {
                        return Err(Error::invalid(
                            "headers",
                            format!("'{}' is not a valid header", truncate(k, 40)),
                        ));
                    }
                    if RESERVED.contains(&k.to_ascii_lowercase().as_str()) {
                        return Err(Error::invalid(
                            "headers",
                            format!("'{k}' is set by Switchboard and cannot be overridden"),
                        ));
                    }
                    out.insert(k.clone(), value.to_string());
                }
                Some(out)
            }
            Some(_) => {
                return Err(Error::invalid(
                    "headers",
                    "must be an object of header names to values",
                ))
            }
        };
        let retry_count = match body.get("retry_count") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .filter(|n| *n <= 5)
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        Error::invalid("retry_count", "must be an integer from 0 to 5")
                    })?,
            ),
        };
        Ok(Self {
            name,
            url,
            events,
            status,
            secret,
            headers,
            retry_count,
            ordering: Ordering::parse(body)?,
        })
    }

    pub fn apply(self, c: &mut EndpointConfig) {
        if let Some(v) = self.name {
            c.name = v;
        }
        if let Some(v) = self.url {
            c.url = v;
        }
        if let Some(v) = self.events {
            c.events = v;
        }
        if let Some(v) = self.secret {
            c.secret = v;
        }
        if let Some(v) = self.headers {
            c.headers = v;
        }
        if let Some(v) = self.retry_count {
            c.retry_count = v;
        }
        if let Some(v) = self.ordering {
            c.ordering = v;
        }
    }
}

/// Base delays between attempts: 1 min, 5 min, 30 min, 2 h, 24 h.
pub const RETRY_DELAYS: [u64; 5] = [60, 300, 1800, 7200, 86_400];

/// Seconds to wait before retry number `retry` (1-based), with ±20 % jitter (`jitter` in
/// [0, 1)), honouring a `Retry-After` (seconds) clamped to [scheduled, 2 × scheduled].
pub fn retry_delay(retry: u32, jitter: f64, retry_after: Option<u64>) -> u64 {
    let idx = (retry.max(1) as usize - 1).min(RETRY_DELAYS.len() - 1);
    let base = RETRY_DELAYS[idx] as f64;
    let scheduled = (base * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))).round() as u64;
    match retry_after {
        Some(ra) => ra.clamp(scheduled, scheduled * 2),
        None => scheduled,
    }
}

/// The headers of one attempt, in order: defaults (the body's `content_type`), custom headers,
/// then identification and signatures (which custom headers can never override).
pub fn signed_headers(
    endpoint: &EndpointConfig,
    event: &str,
    delivery_id: &str,
    content_type: &str,
    body: &str,
    timestamp: i64,
) -> Vec<(String, String)> {
    let sig = format!(
        "sha256={}",
        secret::hmac_sha256_hex(endpoint.secret.as_bytes(), body.as_bytes())
    );
    let mut h = vec![
        ("Content-Type".to_string(), content_type.to_string()),
        (
            "User-Agent".to_string(),
            "Switchboard-Webhook/1.0".to_string(),
        ),
    ];
    for (k, v) in &endpoint.headers {
        if k.eq_ignore_ascii_case("content-type") {
            h[0].1 = v.clone();
        } else {
            h.push((k.clone(), v.clone()));
        }
    }
    h.extend([
        ("X-Fluent-Signature".to_string(), sig.clone()),
        ("X-FluentCRM-Signature".to_string(), sig),
        ("X-FluentCRM-Event".to_string(), event.to_string()),
        (
            "X-FluentCRM-Webhook-ID".to_string(),
            endpoint.id.to_string(),
        ),
        ("X-FluentCRM-Delivery".to_string(), delivery_id.to_string()),
        ("webhook-id".to_string(), delivery_id.to_string()),
        ("webhook-timestamp".to_string(), timestamp.to_string()),
        (
            "webhook-signature".to_string(),
            secret::standard_webhooks_sign(
                &endpoint.secret,
                delivery_id,
                timestamp,
                body.as_bytes(),
            ),
        ),
    ]);
    h
}

/// Headers as the delivery log shows them: signatures and custom header values redacted.
pub fn loggable_headers(
    headers: &[(String, String)],
    endpoint: &EndpointConfig,
) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let secret_like = lower.ends_with("signature") || endpoint.headers.contains_key(k);
            (
                k.clone(),
                if secret_like {
                    "[redacted]".into()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

/// A delivery id stable for one (event, endpoint): the event's time and a hash of both ids, so
/// a re-processed event maps onto the same delivery.
pub fn delivery_id(event_id: &str, webhook_id: i64) -> String {
    let ts = ulid::Ulid::from_string(event_id)
        .map(|u| u.timestamp_ms())
        .unwrap_or(0);
    let h = secret::sha256_hex(&format!("{event_id}:{webhook_id}"));
    let random = u128::from_str_radix(&h[..20], 16).unwrap_or(0);
    ulid::Ulid::from_parts(ts, random).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedule() {
        assert_eq!(retry_delay(1, 0.5, None), 60);
        assert_eq!(retry_delay(1, 0.0, None), 48);
        assert_eq!(retry_delay(1, 1.0, None), 72);
        assert_eq!(retry_delay(5, 0.5, None), 86_400);
        assert_eq!(retry_delay(2, 0.5, Some(10)), 300);
        assert_eq!(retry_delay(2, 0.5, Some(450)), 450);
        assert_eq!(retry_delay(2, 0.5, Some(99_999)), 600);
    }

    #[test]
    fn stable_delivery_ids() {
        let e = "01HQ3Z9X4K8M2N5P7R9T1V3W5Y";
        assert_eq!(delivery_id(e, 1), delivery_id(e, 1));
        assert_ne!(delivery_id(e, 1), delivery_id(e, 2));
        assert_eq!(
            ulid::Ulid::from_string(&delivery_id(e, 1))
                .unwrap()
                .timestamp_ms(),
            ulid::Ulid::from_string(e).unwrap().timestamp_ms()
        );
    }

    #[test]
    fn signatures() {
        let body = r#"{"event":"feed.created","data":{"id":1}}"#;
        let cfg = EndpointConfig {
            id: 1,
            name: "n".into(),
            url: "https://x.example".into(),
            events: vec!["*".into()],
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            headers: BTreeMap::from([("X-API-Key".to_string(), "k".to_string())]),
            retry_count: 3,
            created_at: String::new(),
            updated_at: String::new(),
            revision: 0,
            ordering: Ordering::None,
            destination: Destination::default(),
        };
        let h = signed_headers(
            &cfg,
            "feed.created",
            "d1",
            "application/json",
            body,
            1_700_000_000,
        );
        let get = |n: &str| {
            h.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(
            get("X-Fluent-Signature"),
            format!(
                "sha256={}",
                secret::hmac_sha256_hex(cfg.secret.as_bytes(), body.as_bytes())
            )
        );
        assert_eq!(get("X-API-Key"), "k");
        assert_eq!(get("Content-Type"), "application/json");
        assert!(secret::standard_webhooks_verify(
            &cfg.secret,
            "d1",
            "1700000000",
            &get("webhook-signature"),
            body.as_bytes(),
            1_700_000_000
        ));
        let logged = loggable_headers(&h, &cfg);
        assert_eq!(logged["X-API-Key"], "[redacted]");
        assert_eq!(logged["webhook-signature"], "[redacted]");
        assert_eq!(logged["X-FluentCRM-Event"], "feed.created");
    }
}
