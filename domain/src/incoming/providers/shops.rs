//! Shopify (`X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the raw body keyed by the app's
//! secret) and WooCommerce (`X-WC-Webhook-Signature`, base64 HMAC-SHA256 of the body keyed by
//! the HTML-entity-decoded secret, as `wp_specialchars_decode(..., ENT_QUOTES)` leaves it).

use serde_json::Value;

use super::{at, id, objects, str_at, time, verify_b64, Headers, ProviderEvent, SigError};

pub fn verify_shopify(secret: &str, headers: &Headers, body: &[u8]) -> Result<(), SigError> {
    let given = headers
        .get("x-shopify-hmac-sha256")
        .or_else(|| headers.get("shopify-hmac-sha256"));
    verify_b64(secret.as_bytes(), body, given)
}

pub fn verify_woocommerce(secret: &str, headers: &Headers, body: &[u8]) -> Result<(), SigError> {
    let key = wp_specialchars_decode(secret);
    verify_b64(key.as_bytes(), body, headers.get("x-wc-webhook-signature"))
}

/// WordPress's `wp_specialchars_decode($s, ENT_QUOTES)`: the five entities in their named,
/// decimal and hex forms; `&amp;` last so `&amp;lt;` becomes `&lt;`.
pub fn wp_specialchars_decode(s: &str) -> String {
    let mut out = s.to_string();
    for (from, to) in [
        ("&#039;", "'"),
        ("&#x27;", "'"),
        ("&quot;", "\""),
        ("&#034;", "\""),
        ("&#x22;", "\""),
        ("&lt;", "<"),
        ("&#060;", "<"),
        ("&gt;", ">"),
        ("&#062;", ">"),
        ("&#038;", "&"),
        ("&#x26;", "&"),
        ("&amp;", "&"),
    ] {
        out = out.replace(from, to);
    }
    out
}

/// Product and variant (and SKU) ids of `line_items`.
fn line_items(v: &Value, fields: &[&str]) -> Vec<String> {
    v.get("line_items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|item| fields.iter().filter_map(|f| id(item.get(*f))))
        .filter(|i| i != "0")
        .collect()
}

pub fn extract_shopify(headers: &Headers, v: &Value) -> Option<ProviderEvent> {
    let kind = headers.get("x-shopify-topic")?.trim().to_string();
    let order = match kind.as_str() {
        k if k.starts_with("refunds/") => id(v.get("order_id")),
        _ => id(v.get("id")),
    };
    let email = str_at(v, &["email"])
        .or_else(|| str_at(v, &["contact_email"]))
        .or_else(|| str_at(v, &["customer", "email"]));
    let first = str_at(v, &["customer", "first_name"])
        .or_else(|| str_at(v, &["billing_address", "first_name"]));
    let last = str_at(v, &["customer", "last_name"])
        .or_else(|| str_at(v, &["billing_address", "last_name"]));
    // Ordering reads only the signed body: the latest of its own times (a cancel sets
    // `cancelled_at` and `updated_at`), never the unsigned `X-Shopify-Triggered-At` / event id.
    let occurred_at = [
        "updated_at",
        "cancelled_at",
        "closed_at",
        "processed_at",
        "created_at",
    ]
    .iter()
    .filter_map(|f| time(str_at(v, &[f])))
    .max();
    Some(ProviderEvent {
        // The delivery's id (a retry of one delivery is answered once); which event wins is
        // decided by `occurred_at`, so a replay under a new id changes nothing.
        id: headers
            .get("x-shopify-event-id")
            .or_else(|| headers.get("x-shopify-webhook-id"))
            .map(str::to_string),
        status: str_at(v, &["financial_status"]),
        email,
        first_name: first,
        last_name: last,
        customer: id(at(v, &["customer", "id"])),
        objects: objects("shopify", [order]),
        products: line_items(v, &["product_id", "variant_id", "sku"]),
        period_end: None,
        occurred_at,
        kind,
    })
}

pub fn extract_woocommerce(headers: &Headers, v: &Value) -> Option<ProviderEvent> {
    let kind = headers.get("x-wc-webhook-topic")?.trim().to_string();
    let order = id(v.get("id"));
    let modified = str_at(v, &["date_modified_gmt"]).or_else(|| str_at(v, &["date_modified"]));
    let customer = id(v.get("customer_id")).filter(|c| c != "0");
    Some(ProviderEvent {
        id: order
            .as_ref()
            .map(|o| format!("{kind}:{o}:{}", modified.clone().unwrap_or_default())),
        status: str_at(v, &["status"]),
        email: str_at(v, &["billing", "email"]),
        first_name: str_at(v, &["billing", "first_name"]),
        last_name: str_at(v, &["billing", "last_name"]),
        customer,
        objects: objects("woocommerce", [order]),
        products: line_items(v, &["product_id", "variation_id", "sku"]),
        period_end: None,
        occurred_at: time(modified),
        kind,
    })
}
