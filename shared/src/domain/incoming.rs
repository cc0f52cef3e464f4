//! Incoming webhooks: configuration, validation rules, payload fields and the change plan.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};

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
            "running_count": self.running_count,
            "last_run_at": self.last_run_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
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

/// A CIDR, or a bare address taken as a single host.
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

// The key and the signing secret read `[redacted]`.
crate::redacted_debug!(IncomingWebhook, WebhookPatch);

/// Admin input for create (`full`) or update (partial): validated field by field.
#[derive(Clone, Default, Serialize)]
pub struct WebhookPatch {
    pub title: Option<String>,
    pub space_ids: Option<Vec<i64>>,
    pub remove_space_ids: Option<Vec<i64>>,
    pub course_ids: Option<Vec<i64>>,
    pub remove_course_ids: Option<Vec<i64>>,
    pub send_wp_welcome_email: Option<bool>,
    pub status: Option<String>,
    pub allowed_ips: Option<Vec<String>>,
    /// `Some(None)` clears the secret.
    pub signing_secret: Option<Option<String>>,
    pub field_map: Option<BTreeMap<String, String>>,
}

pub(crate) fn id_list(body: &Map<String, Value>, field: &str) -> Result<Option<Vec<i64>>> {
    let Some(v) = body.get(field) else {
        return Ok(None);
    };
    let items: Vec<&Value> = match v {
        Value::Null => return Ok(Some(vec![])),
        Value::Array(a) => a.iter().collect(),
        _ => return Err(Error::invalid(field, "must be an array of integer ids")),
    };
    let mut ids = Vec::new();
    for item in items {
        let id = match item {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::invalid(field, "must be an array of positive integer ids"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_IDS_PER_LIST {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_IDS_PER_LIST} ids"),
        ));
    }
    Ok(Some(ids))
}

pub(crate) fn string_field(
    body: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(Error::invalid(field, "must not be empty"))
        }
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(Error::invalid(field, format!("at most {max} characters")))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(Error::invalid(field, "must be a string")),
    }
}

pub(crate) fn bool_field(body: &Map<String, Value>, field: &str) -> Result<Option<bool>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
            Ok(Some(n.as_i64() == Some(1)))
        }
        Some(Value::String(s)) => match s.as_str() {
            "1" | "true" | "yes" => Ok(Some(true)),
            "0" | "false" | "no" | "" => Ok(Some(false)),
            _ => Err(Error::invalid(field, "must be a boolean")),
        },
        Some(_) => Err(Error::invalid(field, "must be a boolean")),
    }
}

pub(crate) fn status_field(body: &Map<String, Value>, allowed: &[&str]) -> Result<Option<String>> {
    match string_field(body, "status", 20)? {
        Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
        Some(_) => Err(Error::invalid(
            "status",
            format!("must be one of {}", allowed.join(", ")),
        )),
        None => Ok(None),
    }
}

impl WebhookPatch {
    /// Validates an admin JSON body. `creating` requires `title`.
    pub fn from_json(body: &Map<String, Value>, creating: bool) -> Result<Self> {
        let title = string_field(body, "title", 200)?;
        if creating && title.is_none() {
            return Err(Error::invalid("title", "is required"));
        }
        let send = match bool_field(body, "send_wp_welcome_email")? {
            Some(b) => Some(b),
            None => bool_field(body, "send_welcome_email")?,
        };
        let allowed_ips = match body.get("allowed_ips") {
            None => None,
            Some(Value::Null) => Some(vec![]),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    let s = item.as_str().unwrap_or_default();
                    let net = parse_cidr(s).ok_or_else(|| {
                        Error::invalid(
                            "allowed_ips",
                            format!(
                                "'{}' is not an IP address or CIDR",
                                truncate(&item.to_string(), 60)
                            ),
                        )
                    })?;
                    out.push(net.to_string());
                }
                Some(out)
            }
            Some(_) => {
                return Err(Error::invalid(
                    "allowed_ips",
                    "must be an array of CIDR strings",
                ))
            }
        };
        let signing_secret = match body.get("signing_secret") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) if s.is_empty() => Some(None),
            Some(Value::String(s)) if s.len() < 16 || s.len() > 256 => {
                return Err(Error::invalid(
                    "signing_secret",
                    "must be 16 to 256 characters",
                ))
            }
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => return Err(Error::invalid("signing_secret", "must be a string")),
        };
        let field_map = match body.get("field_map") {
            None => None,
            Some(Value::Null) => Some(BTreeMap::new()),
            Some(Value::Object(m)) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    let meta_key = v
                        .as_str()
                        .map(str::trim)
                        .filter(|s| valid_meta_key(s) && valid_meta_key(k))
                        .ok_or_else(|| Error::invalid("field_map", "maps payload field names to meta keys ([A-Za-z0-9_-], up to 64 characters)"))?;
                    out.insert(k.clone(), meta_key.to_string());
                }
                Some(out)
            }
            Some(_) => return Err(Error::invalid("field_map", "must be an object")),
        };
        Ok(Self {
            title,
            space_ids: id_list(body, "space_ids")?,
            remove_space_ids: id_list(body, "remove_space_ids")?,
            course_ids: id_list(body, "course_ids")?,
            remove_course_ids: id_list(body, "remove_course_ids")?,
            send_wp_welcome_email: send,
            status: status_field(body, &["active", "inactive"])?,
            allowed_ips,
            signing_secret,
            field_map,
        })
    }

    /// Every space and course id the patch names (to check they exist).
    pub fn referenced(&self) -> (BTreeSet<i64>, BTreeSet<i64>) {
        let spaces = [&self.space_ids, &self.remove_space_ids]
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .collect();
        let courses = [&self.course_ids, &self.remove_course_ids]
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .collect();
        (spaces, courses)
    }

    pub fn apply(self, w: &mut IncomingWebhook) {
        if let Some(v) = self.title {
            w.title = v;
        }
        if let Some(v) = self.space_ids {
            w.space_ids = v;
        }
        if let Some(v) = self.remove_space_ids {
            w.remove_space_ids = v;
        }
        if let Some(v) = self.course_ids {
            w.course_ids = v;
        }
        if let Some(v) = self.remove_course_ids {
            w.remove_course_ids = v;
        }
        if let Some(v) = self.send_wp_welcome_email {
            w.send_wp_welcome_email = v;
        }
        if let Some(v) = self.status {
            w.status = v;
        }
        if let Some(v) = self.allowed_ips {
            w.allowed_ips = v;
        }
        if let Some(v) = self.signing_secret {
            w.signing_secret = v;
        }
        if let Some(v) = self.field_map {
            w.field_map = v;
        }
    }
}

fn valid_meta_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
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

/// What happened to one kind of membership (`spaces` or `courses` in the response).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub added: Vec<i64>,
    pub removed: Vec<i64>,
    pub skipped: Vec<i64>,
}

/// Remove-then-add over one kind of membership. `current` are the member's ids now, `missing`
/// the ids known not to exist (they are skipped). An id in both lists ends as a membership;
/// an id already in the wanted state changes nothing.
pub fn plan_memberships(
    add: &[i64],
    remove: &[i64],
    current: &BTreeSet<i64>,
    missing: &BTreeSet<i64>,
) -> Outcome {
    let mut out = Outcome::default();
    for id in remove.iter().filter(|id| !add.contains(id)) {
        if missing.contains(id) {
            out.skipped.push(*id);
        } else if current.contains(id) {
            out.removed.push(*id);
        }
    }
    for id in add {
        if missing.contains(id) {
            out.skipped.push(*id);
        } else if !current.contains(id) {
            out.added.push(*id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[i64]) -> BTreeSet<i64> {
        v.iter().copied().collect()
    }

    #[test]
    fn remove_then_add() {
        let o = plan_memberships(&[1, 2, 3], &[3, 4, 5], &set(&[2, 4]), &set(&[1, 5]));
        assert_eq!(o.added, vec![3]);
        assert_eq!(o.removed, vec![4]);
        assert_eq!(o.skipped, vec![5, 1]);
        let idle = plan_memberships(&[2], &[4], &set(&[2]), &set(&[]));
        assert_eq!(idle, Outcome::default());
    }

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

    #[test]
    fn patch_validation() {
        let body = |v: Value| v.as_object().cloned().unwrap();
        assert!(WebhookPatch::from_json(&body(json!({})), true).is_err());
        let p = WebhookPatch::from_json(
            &body(json!({"title": "T", "space_ids": [1, "2", 2], "send_welcome_email": true})),
            true,
        )
        .unwrap();
        assert_eq!(p.space_ids, Some(vec![1, 2]));
        assert_eq!(p.send_wp_welcome_email, Some(true));
        for bad in [
            json!({"space_ids": "1"}),
            json!({"space_ids": [-1]}),
            json!({"allowed_ips": ["nope"]}),
            json!({"status": "on"}),
            json!({"signing_secret": "short"}),
            json!({"title": 5}),
        ] {
            let e = WebhookPatch::from_json(&body(bad.clone()), false).unwrap_err();
            assert_eq!(e.status().as_u16(), 400, "{bad}");
        }
    }
}
