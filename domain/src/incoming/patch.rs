//! Admin input for an incoming webhook, validated field by field.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};
use strum::IntoEnumIterator;

use super::providers::Source;
use super::rules::{self, Product, Rule};
use super::{parse_cidr, truncate, IncomingWebhook, SourceSecret, WebhookStatus, MAX_IDS_PER_LIST};
use crate::error::{Error, Result};
use crate::fields::{
    array_of, bool_field, clearable, clearable_string, object_of, one_of, optional, string_field,
};

/// Admin input for create (`full`) or update (partial): validated field by field.
#[derive(Clone, Default, Serialize)]
pub struct WebhookPatch {
    pub title: Option<String>,
    pub space_ids: Option<Vec<i64>>,
    pub remove_space_ids: Option<Vec<i64>>,
    pub course_ids: Option<Vec<i64>>,
    pub remove_course_ids: Option<Vec<i64>>,
    pub send_wp_welcome_email: Option<bool>,
    pub status: Option<WebhookStatus>,
    pub allowed_ips: Option<Vec<String>>,
    /// `Some(None)` clears the secret.
    pub signing_secret: Option<Option<String>>,
    pub field_map: Option<BTreeMap<String, String>>,
    pub source: Option<Source>,
    /// `Some(None)` clears the secret.
    pub source_secret: Option<Option<SourceSecret>>,
    /// `Some(None)` restores the source's defaults.
    pub rules: Option<Option<Vec<Rule>>>,
    pub products: Option<Vec<Product>>,
    /// `Some(None)` turns silence alerts off.
    pub expect_every_hours: Option<Option<u16>>,
}

pub fn id_list(body: &Map<String, Value>, field: &str) -> Result<Option<Vec<i64>>> {
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

pub fn status_field(body: &Map<String, Value>) -> Result<Option<WebhookStatus>> {
    one_of(
        body,
        "status",
        &[
            ("active", WebhookStatus::Active),
            ("inactive", WebhookStatus::Inactive),
        ],
        "must be one of active, inactive",
    )
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
        let allowed_ips = clearable(body, "allowed_ips", allowed_ips)?;
        let signing_secret = clearable_string(
            body,
            "signing_secret",
            |s| (16..=256).contains(&s.len()),
            "must be 16 to 256 characters",
        )?;
        let field_map = clearable(body, "field_map", field_map)?;
        let (source, source_secret, rules, products) = provider_fields(body)?;
        Ok(Self {
            source,
            source_secret,
            rules,
            products,
            title,
            space_ids: id_list(body, "space_ids")?,
            remove_space_ids: id_list(body, "remove_space_ids")?,
            course_ids: id_list(body, "course_ids")?,
            remove_course_ids: id_list(body, "remove_course_ids")?,
            send_wp_welcome_email: send,
            status: status_field(body)?,
            allowed_ips,
            signing_secret,
            field_map,
            expect_every_hours: clearable(body, "expect_every_hours", super::silence::parse_hours)?,
        })
    }

    /// Every space and course id the patch names (to check they exist).
    pub fn referenced(&self) -> (BTreeSet<i64>, BTreeSet<i64>) {
        let products = self.products.iter().flatten();
        let spaces = [&self.space_ids, &self.remove_space_ids]
            .into_iter()
            .flatten()
            .flatten()
            .chain(products.clone().flat_map(|p| &p.space_ids))
            .copied()
            .collect();
        let courses = [&self.course_ids, &self.remove_course_ids]
            .into_iter()
            .flatten()
            .flatten()
            .chain(products.flat_map(|p| &p.course_ids))
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
        if let Some(v) = self.source {
            w.source = v;
        }
        if let Some(v) = self.source_secret {
            w.source_secret = v;
        }
        if let Some(v) = self.rules {
            w.rules = v;
        }
        if let Some(v) = self.products {
            w.products = v;
        }
        if let Some(v) = self.expect_every_hours {
            w.expect_every_hours = v;
        }
    }
}

/// `allowed_ips`: IP addresses or CIDR blocks, each kept in its canonical form.
fn allowed_ips(v: &Value) -> Result<Vec<String>> {
    array_of(
        "allowed_ips",
        v,
        "must be an array of CIDR strings",
        |item| {
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
            Ok(net.to_string())
        },
    )
}

/// `field_map`: payload field names to meta keys.
fn field_map(v: &Value) -> Result<BTreeMap<String, String>> {
    object_of("field_map", v, "must be an object", |k, v| {
        let meta_key = v
            .as_str()
            .map(str::trim)
            .filter(|s| valid_meta_key(s) && valid_meta_key(k))
            .ok_or_else(|| {
                Error::invalid(
                    "field_map",
                    "maps payload field names to meta keys ([A-Za-z0-9_-], up to 64 characters)",
                )
            })?;
        if is_password_field(k) || is_password_field(meta_key) {
            return Err(Error::invalid(
                "field_map",
                "cannot copy user_pass or user_password (passwords are never stored as meta)",
            ));
        }
        Ok(meta_key.to_string())
    })
}

/// The payload fields that carry a new member's password
/// (docs/reference/incoming.md#configuration-of-an-incoming-webhook): `field_map` may name neither
/// as a field to copy nor as a meta key.
fn is_password_field(name: &str) -> bool {
    ["user_pass", "user_password"]
        .iter()
        .any(|p| name.eq_ignore_ascii_case(p))
}

fn valid_meta_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

// The signing and source secrets read `[redacted]`.
crate::redact::redacted_debug!(WebhookPatch);

type ProviderFields = (
    Option<Source>,
    Option<Option<SourceSecret>>,
    Option<Option<Vec<Rule>>>,
    Option<Vec<Product>>,
);

/// `source`, `source_secret`, `rules` and `products` (docs/reference/providers.md).
fn provider_fields(body: &Map<String, Value>) -> Result<ProviderFields> {
    let source = optional(body, "source", |v| {
        v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
            let all: Vec<&str> = Source::iter().map(<&str>::from).collect();
            Error::invalid("source", format!("must be one of {}", all.join(", ")))
        })
    })?;
    let source_secret = clearable_string(
        body,
        "source_secret",
        |s| s.len() <= 512 && s.trim() == s,
        "must be at most 512 characters, without surrounding spaces",
    )?
    .map(|secret| secret.map(SourceSecret::new));
    let rules = match body.get("rules") {
        None => None,
        Some(v) => Some(rules::rules_from_json(v)?),
    };
    let products = match body.get("products") {
        None => None,
        Some(v) => rules::products_from_json(v)?,
    };
    Ok((source, source_secret, rules, products))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            assert_eq!(e.code, crate::error::Code::InvalidParam, "{bad}");
        }
    }

    #[test]
    fn field_map_never_copies_a_password() {
        let body = |v: Value| v.as_object().cloned().unwrap();
        for bad in [
            json!({"field_map": {"user_pass": "pw"}}),
            json!({"field_map": {"user_password": "pw"}}),
            json!({"field_map": {"plan": "user_pass"}}),
            json!({"field_map": {"plan": "User_Password"}}),
            json!({"field_map": {"USER_PASS": "x"}}),
        ] {
            let e = WebhookPatch::from_json(&body(bad.clone()), false).unwrap_err();
            assert_eq!(e.code, crate::error::Code::InvalidParam, "{bad}");
            assert!(e.to_string().contains("field_map"), "{e}");
            assert!(e.to_string().contains("invalid") || e.to_string().contains("Invalid"));
        }
        let ok = WebhookPatch::from_json(&body(json!({"field_map": {"plan": "plan"}})), false);
        assert!(ok.is_ok());
    }
}
