//! Outgoing-webhook fixtures the integration tests share: a receiver, an endpoint subscribed to
//! it, and reading what it got.

use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::TestEnv;

/// A receiver answering every POST with `status` (body `ok`).
pub async fn receiver(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_string("ok"))
        .mount(&server)
        .await;
    server
}

/// Creates an outgoing webhook named `Receiver` to `url` for `events`, with `extra` fields;
/// returns its JSON.
pub async fn endpoint(env: &TestEnv, url: &str, events: Value, extra: Value) -> Value {
    named_endpoint(env, "Receiver", url, events, extra).await
}

/// Creates an outgoing webhook `name` to `url` for `events`, with `extra` fields; returns its id.
pub async fn endpoint_id(env: &TestEnv, name: &str, url: &str, events: Value, extra: Value) -> i64 {
    named_endpoint(env, name, url, events, extra).await["id"]
        .as_i64()
        .unwrap_or_default()
}

async fn named_endpoint(
    env: &TestEnv,
    name: &str,
    url: &str,
    events: Value,
    extra: Value,
) -> Value {
    let mut body = json!({"name": name, "url": url, "events": events});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = env.admin("POST", "/admin/webhooks", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// A request header's value, or empty.
pub fn header<'a>(req: &'a wiremock::Request, name: &str) -> &'a str {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Posts a signed WooCommerce `order.created` (status `processing`) of `customer` with `email`
/// to the webhook `key` whose source secret is `secret`; the provider must grant.
pub async fn woocommerce_order(
    env: &TestEnv,
    key: &str,
    secret: &str,
    order: i64,
    customer: i64,
    email: &str,
) {
    use switchboard::domain::incoming::providers::{sign, Source};
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/providers/woocommerce/order-v3-retrieve-example.json");
    let mut o: Value =
        serde_json::from_slice(&std::fs::read(base).expect("fixture")).expect("json");
    o["id"] = json!(order);
    o["status"] = json!("processing");
    o["customer_id"] = json!(customer);
    o["billing"]["email"] = json!(email);
    o["date_modified_gmt"] = json!("2026-01-01T10:00:00");
    let body = o.to_string().into_bytes();
    let now = switchboard::domain::time::now().as_second();
    let mut h = sign(Source::Woocommerce, secret, &body, now, "order.created", "");
    h.push(("content-type".into(), "application/json".into()));
    let h = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let r = env
        .incoming("POST", &format!("/webhook/{key}"), h, body)
        .await;
    assert_eq!(r.body["outcome"], "granted", "{}", r.text);
}
