//! Gumroad (no signature: the URL key is the only credential; form body), Typeform
//! (`Typeform-Signature: sha256=<base64>` over the raw body) and Standard Webhooks
//! (`webhook-id`/`webhook-timestamp`/`webhook-signature`, the generic preset).

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;

use super::{
    at, ct_eq, hmac, id, objects, split_name, str_at, time, verify_b64, Headers, ProviderEvent,
    SigError, B64,
};

pub fn verify_typeform(secret: &str, headers: &Headers, body: &[u8]) -> Result<(), SigError> {
    let header = headers.get("typeform-signature").ok_or(SigError::Missing)?;
    let given = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SigError::Invalid)?;
    verify_b64(secret.as_bytes(), body, Some(given))
}

/// Standard Webhooks tolerance, both directions (the reference libraries).
pub const STANDARD_TOLERANCE_SECONDS: i64 = 300;

pub fn verify_standard(
    secret: &str,
    headers: &Headers,
    body: &[u8],
    now: i64,
) -> Result<(), SigError> {
    let (Some(msg_id), Some(ts), Some(sigs)) = (
        headers.get("webhook-id"),
        headers.get("webhook-timestamp"),
        headers.get("webhook-signature"),
    ) else {
        return Err(SigError::Missing);
    };
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|b| B64.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    let t = ts.trim();
    let expected = B64.encode(hmac(
        &key,
        &[msg_id.as_bytes(), b".", t.as_bytes(), b".", body],
    ));
    let t: i64 = t.parse().map_err(|_| SigError::Invalid)?;
    if now.saturating_sub(t).saturating_abs() > STANDARD_TOLERANCE_SECONDS {
        return Err(SigError::Stale);
    }
    let ok = sigs
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| ct_eq(s.as_bytes(), expected.as_bytes()));
    if ok {
        Ok(())
    } else {
        Err(SigError::Invalid)
    }
}

pub fn extract_gumroad(f: &BTreeMap<String, String>) -> Option<ProviderEvent> {
    let get = |k: &str| {
        f.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    // The settings "Ping" sends sales without `resource_name`.
    let kind = get("resource_name").unwrap_or_else(|| "sale".into());
    let (first, last) = get("full_name")
        .as_deref()
        .map(split_name)
        .unwrap_or_default();
    let sale = get("sale_id");
    let subscription = get("subscription_id");
    let key = sale.clone().or_else(|| subscription.clone())?;
    Some(ProviderEvent {
        id: Some(format!("{kind}:{key}")),
        status: get("refunded")
            .filter(|r| r == "true")
            .map(|_| "refunded".into()),
        email: get("email").or_else(|| get("user_email")),
        first_name: first,
        last_name: last,
        customer: get("purchaser_id").or_else(|| get("user_id")),
        objects: objects(
            "gumroad",
            [
                sale.map(|s| format!("sale:{s}")),
                subscription.map(|s| format!("subscription:{s}")),
            ],
        ),
        products: [
            "product_id",
            "permalink",
            "product_permalink",
            "short_product_id",
        ]
        .iter()
        .filter_map(|k| get(k))
        .collect(),
        period_end: None,
        occurred_at: time(get("ended_at")).or_else(|| time(get("sale_timestamp"))),
        kind,
    })
}

pub fn extract_typeform(v: &Value) -> Option<ProviderEvent> {
    let kind = str_at(v, &["event_type"])?;
    let r = v.get("form_response")?;
    let answers = r.get("answers").and_then(Value::as_array);
    let email = answers
        .into_iter()
        .flatten()
        .find(|a| a.get("type").and_then(Value::as_str) == Some("email"))
        .and_then(|a| str_at(a, &["email"]))
        .or_else(|| str_at(r, &["hidden", "email"]));
    let (mut first, mut last) = (
        str_at(r, &["hidden", "first_name"]),
        str_at(r, &["hidden", "last_name"]),
    );
    // Text answers whose question asks for a name.
    let titles: BTreeMap<String, String> = r
        .get("definition")
        .and_then(|d| d.get("fields"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| Some((id(f.get("id"))?, str_at(f, &["title"])?.to_lowercase())))
        .collect();
    for a in answers.into_iter().flatten() {
        let (Some(fid), Some(text)) = (id(at(a, &["field", "id"])), str_at(a, &["text"])) else {
            continue;
        };
        let title = titles.get(&fid).map(String::as_str).unwrap_or_default();
        if title.contains("first name") && first.is_none() {
            first = Some(text);
        } else if title.contains("last name") && last.is_none() {
            last = Some(text);
        } else if title.contains("name") && first.is_none() {
            (first, last) = split_name(&text);
        }
    }
    Some(ProviderEvent {
        id: str_at(v, &["event_id"]),
        status: None,
        email,
        first_name: first,
        last_name: last,
        customer: None,
        objects: objects("typeform", [id(r.get("token"))]),
        products: id(r.get("form_id")).into_iter().collect(),
        period_end: None,
        occurred_at: time(str_at(r, &["submitted_at"])),
        kind,
    })
}

pub fn extract_standard(headers: &Headers, v: &Value) -> Option<ProviderEvent> {
    let kind = str_at(v, &["type"])?;
    let d = v.get("data").unwrap_or(&Value::Null);
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| str_at(d, &[k]).or_else(|| str_at(v, &[k])))
    };
    let (mut first, mut last) = (
        pick(&["first_name", "firstName"]),
        pick(&["last_name", "lastName"]),
    );
    if first.is_none() {
        (first, last) = pick(&["name", "fullName", "full_name"])
            .as_deref()
            .map(split_name)
            .unwrap_or_default();
    }
    Some(ProviderEvent {
        id: headers.get("webhook-id").map(str::to_string),
        status: pick(&["status"]),
        email: pick(&["email", "emailAddress", "email_address"]),
        first_name: first,
        last_name: last,
        customer: id(d.get("customer_id")).or_else(|| id(d.get("customerId"))),
        objects: objects(
            "standard",
            [
                id(d.get("id")),
                id(d.get("order_id")),
                id(d.get("subscription_id")),
            ],
        ),
        products: ["product_id", "price_id", "variant_id", "plan_id"]
            .iter()
            .filter_map(|k| id(d.get(*k)))
            .collect(),
        period_end: None,
        occurred_at: headers
            .get("webhook-timestamp")
            .and_then(|t| t.trim().parse().ok())
            .or_else(|| time(str_at(v, &["timestamp"]))),
        kind,
    })
}
