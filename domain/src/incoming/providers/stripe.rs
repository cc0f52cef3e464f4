//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`, hex HMAC-SHA256 of `"{t}.{body}"`
//! keyed by the whole `whsec_...` string, 300 s tolerance on the age (stripe-node
//! `Webhooks.constructEvent`).

use serde_json::Value;

use super::{
    at, ct_eq, hex, hmac, id, objects, split_name, str_at, Headers, ProviderEvent, SigError,
};

pub const TOLERANCE_SECONDS: i64 = 300;

pub fn verify(secret: &str, headers: &Headers, body: &[u8], now: i64) -> Result<(), SigError> {
    let header = headers.get("stripe-signature").ok_or(SigError::Missing)?;
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.trim().parse::<i64>().ok(),
            Some(("v1", v)) => v1.push(v.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    let t = t.ok_or(SigError::Invalid)?;
    if v1.is_empty() {
        return Err(SigError::Invalid);
    }
    let ts = t.to_string();
    let expected = hex(&hmac(secret.as_bytes(), &[ts.as_bytes(), b".", body]));
    if !v1.iter().any(|s| ct_eq(s.as_bytes(), expected.as_bytes())) {
        return Err(SigError::Invalid);
    }
    if now.saturating_sub(t) > TOLERANCE_SECONDS {
        return Err(SigError::Stale);
    }
    Ok(())
}

pub fn extract(v: &Value) -> Option<ProviderEvent> {
    let kind = str_at(v, &["type"])?;
    let o = at(v, &["data", "object"])?;
    let object_kind = str_at(o, &["object"]).unwrap_or_default();
    let email = str_at(o, &["customer_details", "email"])
        .or_else(|| str_at(o, &["customer_email"]))
        .or_else(|| str_at(o, &["billing_details", "email"]))
        .or_else(|| str_at(o, &["receipt_email"]))
        .or_else(|| {
            (object_kind == "customer")
                .then(|| str_at(o, &["email"]))
                .flatten()
        });
    let name = str_at(o, &["customer_details", "name"])
        .or_else(|| str_at(o, &["customer_details", "individual_name"]))
        .or_else(|| str_at(o, &["customer_name"]))
        .or_else(|| str_at(o, &["billing_details", "name"]));
    let (first_name, last_name) = name.as_deref().map(split_name).unwrap_or_default();
    let customer = match object_kind.as_str() {
        "customer" => id(o.get("id")),
        _ => id(o.get("customer")).or_else(|| id(at(o, &["customer", "id"]))),
    };
    let status = str_at(o, &["payment_status"]).or_else(|| str_at(o, &["status"]));
    Some(ProviderEvent {
        id: str_at(v, &["id"]),
        occurred_at: at(v, &["created"]).and_then(Value::as_i64),
        // A subscription's period (older API versions: on the subscription; newer: on its
        // items), or an invoice line's.
        period_end: at(o, &["current_period_end"])
            .or_else(|| first(o, "items").and_then(|i| i.get("current_period_end")))
            .or_else(|| first(o, "lines").and_then(|l| at(l, &["period", "end"])))
            .and_then(Value::as_i64),
        objects: objects(
            "stripe",
            [
                (object_kind != "customer")
                    .then(|| id(o.get("id")))
                    .flatten(),
                id(o.get("subscription")),
                id(o.get("payment_intent")),
                id(o.get("invoice")),
                id(o.get("charge")),
            ],
        ),
        products: products(o),
        kind,
        status,
        email,
        first_name,
        last_name,
        customer,
    })
}

/// Price and product ids of invoice lines, subscription items and expanded line items, the
/// checkout's `payment_link` and its `metadata` values.
fn products(o: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for list in [
        at(o, &["lines", "data"]),
        at(o, &["items", "data"]),
        at(o, &["line_items", "data"]),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_array)
    {
        for item in list {
            for path in [
                &["price", "id"][..],
                &["price", "product"],
                &["pricing", "price_details", "price"],
                &["pricing", "price_details", "product"],
                &["plan", "id"],
            ] {
                out.extend(id(at(item, path)));
            }
        }
    }
    out.extend(id(o.get("payment_link")));
    if let Some(meta) = o.get("metadata").and_then(Value::as_object) {
        out.extend(meta.values().filter_map(|v| id(Some(v))));
    }
    out
}

/// The first entry of a Stripe list field (`{"object": "list", "data": [...]}`).
fn first<'a>(o: &'a Value, field: &str) -> Option<&'a Value> {
    at(o, &[field, "data"])?.get(0)
}
