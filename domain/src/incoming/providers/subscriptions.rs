//! Paddle Billing (`Paddle-Signature: ts=<unix>;h1=<hex>[;h1=...]`, hex HMAC-SHA256 of
//! `"{ts}:{body}"` keyed by the whole secret string, 5 s tolerance as the SDK's `Verifier`) and
//! Lemon Squeezy (`X-Signature`, hex HMAC-SHA256 of the raw body; no timestamp).

use serde_json::Value;

use super::{
    at, ct_eq, hex, hmac, id, objects, split_name, str_at, time, Headers, ProviderEvent, SigError,
};

pub const PADDLE_TOLERANCE_SECONDS: i64 = 5;

pub fn verify_paddle(
    secret: &str,
    headers: &Headers,
    body: &[u8],
    now: i64,
) -> Result<(), SigError> {
    let header = headers.get("paddle-signature").ok_or(SigError::Missing)?;
    let mut ts = None;
    let mut h1 = Vec::new();
    for part in header.split(';') {
        match part.trim().split_once('=') {
            Some(("ts", v)) => ts = Some(v.trim().to_string()),
            Some(("h1", v)) => h1.push(v.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    let ts = ts.ok_or(SigError::Invalid)?;
    let t: i64 = ts.parse().map_err(|_| SigError::Invalid)?;
    if now > t.saturating_add(PADDLE_TOLERANCE_SECONDS) {
        return Err(SigError::Stale);
    }
    let expected = hex(&hmac(secret.as_bytes(), &[ts.as_bytes(), b":", body]));
    if h1.iter().any(|s| ct_eq(s.as_bytes(), expected.as_bytes())) {
        Ok(())
    } else {
        Err(SigError::Invalid)
    }
}

pub fn verify_lemonsqueezy(secret: &str, headers: &Headers, body: &[u8]) -> Result<(), SigError> {
    let given = headers
        .get("x-signature")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(SigError::Missing)?;
    let expected = hex(&hmac(secret.as_bytes(), &[body]));
    if ct_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(SigError::Invalid)
    }
}

pub fn extract_paddle(v: &Value) -> Option<ProviderEvent> {
    let kind = str_at(v, &["event_type"])?;
    let d = v.get("data")?;
    let is_customer = kind.starts_with("customer.");
    let (first, last) = str_at(d, &["name"])
        .filter(|_| is_customer)
        .as_deref()
        .map(split_name)
        .unwrap_or_default();
    let mut products = Vec::new();
    for item in d
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for path in [
            &["price", "id"][..],
            &["price", "product_id"],
            &["product", "id"],
            &["price_id"],
            &["product_id"],
        ] {
            products.extend(id(at(item, path)));
        }
    }
    Some(ProviderEvent {
        id: str_at(v, &["event_id"]),
        status: str_at(d, &["status"]),
        email: str_at(d, &["email"]).filter(|_| is_customer),
        first_name: first,
        last_name: last,
        customer: if is_customer {
            id(d.get("id"))
        } else {
            id(d.get("customer_id"))
        },
        objects: objects(
            "paddle",
            [
                (!is_customer).then(|| id(d.get("id"))).flatten(),
                id(d.get("subscription_id")),
                id(d.get("transaction_id")),
            ],
        ),
        products,
        occurred_at: time(str_at(v, &["occurred_at"])),
        period_end: time(str_at(d, &["current_billing_period", "ends_at"])),
        kind,
    })
}

pub fn extract_lemonsqueezy(headers: &Headers, v: &Value) -> Option<ProviderEvent> {
    let kind = str_at(v, &["meta", "event_name"])
        .or_else(|| headers.get("x-event-name").map(str::to_string))?;
    let d = v.get("data")?;
    let a = d.get("attributes")?;
    let kind_of_data = str_at(d, &["type"]).unwrap_or_else(|| "orders".into());
    let data_id = id(d.get("id"));
    let updated = str_at(a, &["updated_at"]);
    let (first, last) = str_at(a, &["user_name"])
        .as_deref()
        .map(split_name)
        .unwrap_or_default();
    let item = a.get("first_order_item").unwrap_or(&Value::Null);
    let order_id = id(a.get("order_id")).or_else(|| id(item.get("order_id")));
    let mut products = Vec::new();
    for src in [item, a] {
        products.extend(id(src.get("variant_id")));
        products.extend(id(src.get("product_id")));
    }
    Some(ProviderEvent {
        id: data_id.as_ref().map(|d| {
            format!(
                "{kind}:{kind_of_data}:{d}:{}",
                updated.clone().unwrap_or_default()
            )
        }),
        status: str_at(a, &["status"]),
        email: str_at(a, &["user_email"]),
        first_name: first,
        last_name: last,
        customer: id(a.get("customer_id")),
        objects: objects(
            "lemonsqueezy",
            [
                data_id.map(|d| format!("{kind_of_data}:{d}")),
                order_id.map(|o| format!("orders:{o}")),
                id(a.get("subscription_id")).map(|s| format!("subscriptions:{s}")),
            ],
        ),
        products,
        occurred_at: time(updated),
        period_end: time(str_at(a, &["ends_at"]).or_else(|| str_at(a, &["renews_at"]))),
        kind,
    })
}
