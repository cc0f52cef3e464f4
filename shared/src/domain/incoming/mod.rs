//! Incoming webhooks: configuration, validation rules, payload fields and the change plan.

mod patch;
pub mod plan;
pub mod providers;
pub mod rules;
pub mod run;

pub use patch::{bool_field, id_list, status_field, string_field, WebhookPatch};
pub use plan::Outcome;

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

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

/// Most ids one list of a webhook may hold (keeps an execution inside one DynamoDB transaction).
pub const MAX_IDS_PER_LIST: usize = 20;

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
    pub status: String,
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    #[serde(default)]
    pub signing_secret: Option<String>,
    #[serde(default)]
    pub field_map: BTreeMap<String, String>,
    /// Who calls it: the seeds' form (default) or a provider preset (SPEC §4.4).
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
    #[serde(default)]
    pub running_count: i64,
    #[serde(default)]
    pub last_run_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Optimistic-lock token, incremented by every admin save.
    #[serde(default)]
    pub revision: i64,
}

impl IncomingWebhook {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    /// The admin view: everything but the signing secret, plus the URL to paste.
    pub fn view(&self, public_base_url: &str) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "key": self.key,
            "webhook_url": format!("{public_base_url}/webhook/{}", self.key),
            "space_ids": self.space_ids,
            "remove_space_ids": self.remove_space_ids,
            "course_ids": self.course_ids,
            "remove_course_ids": self.remove_course_ids,
            "send_wp_welcome_email": self.send_wp_welcome_email,
            "status": self.status,
            "allowed_ips": self.allowed_ips,
            "signing_secret_set": self.signing_secret.is_some(),
            "field_map": self.field_map,
            "source": self.source,
            "source_secret_set": self.source_secret.is_some(),
            "rules": self.effective_rules(),
            "products": self.products,
            "running_count": self.running_count,
            "last_run_at": self.last_run_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }

    /// The configured rules, or the source's defaults.
    pub fn effective_rules(&self) -> Vec<Rule> {
        self.rules
            .clone()
            .unwrap_or_else(|| rules::defaults(self.source))
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
crate::redacted_debug!(IncomingWebhook);

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

    /// Profile meta for a new member, through the webhook's `field_map`.
    pub fn mapped_meta(&self, field_map: &BTreeMap<String, String>) -> Map<String, Value> {
        field_map
            .iter()
            .filter_map(|(field, meta)| {
                self.get(field)
                    .map(|v| (meta.clone(), Value::String(truncate(v, 2000))))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_rules() {
        let mut w: IncomingWebhook = serde_json::from_value(json!({
            "id": 1, "key": "k", "title": "t", "status": "active",
            "created_at": "x", "updated_at": "x", "allowed_ips": ["10.0.0.0/8", "192.168.1.5"]
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
