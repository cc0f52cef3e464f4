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
