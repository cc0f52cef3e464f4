//! Incoming webhooks: configuration, validation rules, payload fields and the change plan.

pub mod limits;
mod patch;
pub mod plan;
pub mod providers;
pub mod rules;
pub mod run;
pub mod silence;

pub use patch::{id_list, status_field, WebhookPatch};
pub use plan::Outcome;

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use providers::Source;
use rules::{Product, Rule};

/// A provider's signing secret: never shown, never in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceSecret(String);

impl SourceSecret {
    pub fn new(s: String) -> Self {
        Self(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SourceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceSecret(<redacted>)")
    }
}

pub use limits::MAX_IDS_PER_LIST;

/// Whether an incoming webhook's URL executes (`inactive`: `403`, and a failed run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookStatus {
    Active,
    Inactive,
}

/// An incoming webhook as stored.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct IncomingWebhook {
    pub id: i64,
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub space_ids: Vec<i64>,
    #[serde(default)]
    pub remove_space_ids: Vec<i64>,
    #[serde(default)]
    pub course_ids: Vec<i64>,
    #[serde(default)]
    pub remove_course_ids: Vec<i64>,
    #[serde(default)]
    pub send_wp_welcome_email: bool,
    pub status: WebhookStatus,
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    #[serde(default)]
    pub signing_secret: Option<String>,
    #[serde(default)]
    pub field_map: BTreeMap<String, String>,
    /// Who calls it: the seeds' form (default) or a provider preset (docs/reference/providers.md).
    #[serde(default)]
    pub source: Source,
    /// The provider's signing secret (write-only).
    #[serde(default)]
    pub source_secret: Option<SourceSecret>,
    /// Provider event → action; `None`: the source's defaults.
    #[serde(default)]
    pub rules: Option<Vec<Rule>>,
    #[serde(default)]
    pub products: Vec<Product>,
    /// Silence alert after this many hours without an accepted call
    /// (docs/reference/incoming.md#silence-alerts); `None`: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_every_hours: Option<u16>,
    #[serde(default)]
    pub running_count: i64,
    #[serde(default, with = "crate::time::wire::option")]
    pub last_run_at: Option<jiff::Timestamp>,
    #[serde(with = "crate::time::wire")]
    pub created_at: jiff::Timestamp,
    #[serde(with = "crate::time::wire")]
    pub updated_at: jiff::Timestamp,
    /// Optimistic-lock token, incremented by every admin save.
    #[serde(default)]
    pub revision: i64,
}

impl IncomingWebhook {
    /// The silence index's due time (docs/reference/incoming.md#silence-alerts), counted from the
    /// later of the last accepted call and the last admin save; `None` when silence alerts are off.
    pub fn silence_due(&self) -> Option<String> {
        let hours = self.expect_every_hours?;
        let base = self
            .last_run_at
            .map_or(self.updated_at, |t| t.max(self.updated_at));
        Some(silence::due_key(base, hours))
    }

    pub fn is_active(&self) -> bool {
        self.status == WebhookStatus::Active
    }

    /// The configured rules, or the source's defaults.
    pub fn effective_rules(&self) -> Vec<Rule> {
        self.rules
            .clone()
            .unwrap_or_else(|| rules::defaults(self.source))
    }

    /// Whether one execution of this configuration fits one transaction (see [`limits`]):
    /// a `400` names the list that goes over the total, or `field_map`.
    pub fn check_limits(&self) -> crate::error::Result<()> {
        let mut ids = std::collections::BTreeSet::new();
        for (field, list) in [
            ("space_ids", &self.space_ids),
            ("remove_space_ids", &self.remove_space_ids),
            ("course_ids", &self.course_ids),
            ("remove_course_ids", &self.remove_course_ids),
        ] {
            // A space in two lists is one change; a space and a course with the same id two.
            let kind = u8::from(field.contains("course"));
            ids.extend(list.iter().map(|id| (kind, *id)));
            if ids.len() > limits::MAX_IDS_TOTAL {
                return Err(crate::error::Error::invalid(
                    field,
                    format!(
                        "the four id lists hold at most {} ids together (one execution must fit one transaction)",
                        limits::MAX_IDS_TOTAL
                    ),
                ));
            }
        }
        if self.field_map.len() > limits::MAX_FIELD_MAP {
            return Err(crate::error::Error::invalid(
                "field_map",
                format!("at most {} fields", limits::MAX_FIELD_MAP),
            ));
        }
        Ok(())
    }

    /// Whether `ip` may call this webhook (`allowed_ips` empty = everyone).
    pub fn ip_allowed(&self, ip: Option<IpAddr>) -> bool {
        if self.allowed_ips.is_empty() {
            return true;
        }
        let Some(ip) = ip else { return false };
        self.allowed_ips
            .iter()
            .any(|cidr| parse_cidr(cidr).is_some_and(|net| net.contains(&ip)))
    }
}

// The key and the secrets read `[redacted]`.
crate::redact::redacted_debug!(IncomingWebhook);

/// A CIDR, or a bare address taken as a single host.
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// The fields of one execution call, whatever the content type.
#[derive(Clone, Default)]
pub struct Payload {
    pub fields: BTreeMap<String, String>,
}

/// Field names only: values include passwords (`user_pass`).
impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Payload {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn email(&self) -> Option<&str> {
        self.get("email")
    }

    /// `user_pass`, or its alias `user_password`.
    pub fn password(&self) -> Option<&str> {
        self.get("user_pass").or_else(|| self.get("user_password"))
    }

    /// Profile meta for a new member, through the webhook's `field_map`: each value cut to
    /// [`limits::META_VALUE_MAX_CHARS`] characters, and the whole to
    /// [`limits::META_MAX_BYTES`] of JSON (a value that does not fit is cut to what does, and
    /// later ones are left out).
    pub fn mapped_meta(&self, field_map: &BTreeMap<String, String>) -> Map<String, Value> {
        let mut out = Map::new();
        let mut budget = limits::META_MAX_BYTES.saturating_sub(2);
        for (field, key) in field_map {
            let Some(v) = self.get(field) else { continue };
            // `"key":"value",` — the key and its punctuation first.
            let Some(room) = budget.checked_sub(json_len(key) + 2) else {
                break;
            };
            let value = fit_json(&truncate(v, limits::META_VALUE_MAX_CHARS), room);
            if value.is_empty() {
                break;
            }
            budget -= json_len(key) + 2 + json_len(&value);
            out.insert(key.clone(), Value::String(value));
        }
        out
    }
}

/// Bytes of `s` as a JSON string, quotes included.
fn json_len(s: &str) -> usize {
    serde_json::to_string(s).map_or(usize::MAX / 4, |j| j.len())
}

/// The longest prefix of `s` (whole characters) whose JSON string fits `room` bytes.
fn fit_json(s: &str, room: usize) -> String {
    if json_len(s) <= room {
        return s.to_string();
    }
    let mut used = 2;
    let mut out = String::new();
    for c in s.chars() {
        let mut buf = [0u8; 4];
        let n = json_len(c.encode_utf8(&mut buf)) - 2;
        if used + n > room {
            break;
        }
        used += n;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mapped_meta_fits_its_budget() {
        let long = "\u{1}é".repeat(5000);
        let fields: BTreeMap<String, String> =
            (0..30).map(|i| (format!("f{i}"), long.clone())).collect();
        let map: BTreeMap<String, String> = (0..30)
            .map(|i| (format!("f{i}"), format!("meta_{i}")))
            .collect();
        let meta = Payload { fields }.mapped_meta(&map);
        let bytes = serde_json::to_vec(&meta).unwrap().len();
        assert!(bytes <= limits::META_MAX_BYTES, "{bytes}");
        assert!(bytes > limits::META_MAX_BYTES - 64, "{bytes}");
        // Short values pass whole.
        let fields = BTreeMap::from([("city".to_string(), "Lyon".to_string())]);
        let map = BTreeMap::from([("city".to_string(), "home_city".to_string())]);
        assert_eq!(
            Value::Object(Payload { fields }.mapped_meta(&map)),
            json!({"home_city": "Lyon"})
        );
    }

    #[test]
    fn limits_name_the_field() {
        let mut w: IncomingWebhook = serde_json::from_value(json!({
            "id": 1, "key": "k", "title": "t", "status": "active",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "space_ids": (1..=20).collect::<Vec<i64>>(),
            "remove_space_ids": (1..=20).collect::<Vec<i64>>(),
            "course_ids": (1..=20).collect::<Vec<i64>>(),
        }))
        .unwrap();
        assert!(w.check_limits().is_ok());
        w.remove_course_ids = (21..=21).collect();
        let e = w.check_limits().unwrap_err();
        assert!(format!("{e:?}").contains("remove_course_ids"), "{e:?}");
        w.remove_course_ids.clear();
        w.field_map = (0..21)
            .map(|i| (format!("f{i}"), format!("m{i}")))
            .collect();
        assert!(format!("{:?}", w.check_limits().unwrap_err()).contains("field_map"));
    }

    #[test]
    fn ip_rules() {
        let mut w: IncomingWebhook = serde_json::from_value(json!({
            "id": 1, "key": "k", "title": "t", "status": "active",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "allowed_ips": ["10.0.0.0/8", "192.168.1.5"]
        }))
        .unwrap();
        assert!(w.ip_allowed("10.1.2.3".parse().ok()));
        assert!(w.ip_allowed("192.168.1.5".parse().ok()));
        assert!(!w.ip_allowed("192.168.1.6".parse().ok()));
        assert!(!w.ip_allowed(None));
        w.allowed_ips.clear();
        assert!(w.ip_allowed(None));
    }
}
