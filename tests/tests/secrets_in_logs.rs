//! Passwords, keys, secrets and signatures never appear in logs, responses or the activity log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use switchboard::domain::secret;
use switchboard_tests::{Stack, TestEnv};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let buf = Buf::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(buf.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let stack = Stack::create().await;
    let env = TestEnv::on(stack.clone(), stack.config()).await;
    let signing = "incoming-signing-secret-123";
    let (wid, key) = env
        .webhook(json!({"title": "T", "signing_secret": signing, "send_wp_welcome_email": true}))
        .await;
    let rx = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .mount(&rx)
        .await;
    let ep = env
        .admin("POST", "/admin/webhooks", Some(json!({"name": "n", "url": rx.uri(), "events": ["*"], "headers": {"Authorization": "Bearer custom-header-token"}})))
        .await;
    let outgoing_secret = ep.body["secret"].as_str().unwrap_or_default().to_string();

    let body = b"email=logs%40example.com&user_pass=Sup3rSecretPassw0rd".to_vec();
    let sig = format!(
        "sha256={}",
        secret::hmac_sha256_hex(signing.as_bytes(), &body)
    );
    let path = format!("/webhook/{key}");
    let ok = env
        .incoming(
            "POST",
            &path,
            vec![
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-webhook-signature", &sig),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let refused = env
        .incoming(
            "POST",
            &path,
            vec![
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-webhook-signature", "sha256=deadbeef"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(refused.status, 403);
    env.pump().await; // deliveries to the failing receiver: warnings and errors get logged
                      // A dependency failure is logged too (the queue is gone).
    let mut broken = stack.config();
    broken.queue_url = format!("{}/123456789012/missing", stack.endpoint);
    let down = TestEnv::on(stack.clone(), broken).await;
    let other = b"email=other%40example.com&user_pass=Sup3rSecretPassw0rd".to_vec();
    let other_sig = format!(
        "sha256={}",
        secret::hmac_sha256_hex(signing.as_bytes(), &other)
    );
    let again = down
        .incoming(
            "POST",
            &path,
            vec![
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-webhook-signature", &other_sig),
            ],
            other.clone(),
        )
        .await;
    // The relay of the broken instance fails to put the batch on the missing queue (logged).
    down.relay_stream().await;
    assert_eq!(again.status, 200);
    let runs = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}/runs"), None)
        .await;
    let deliveries = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{}/deliveries", ep.body["id"]),
            None,
        )
        .await;

    let logs =
        String::from_utf8(buf.0.lock().map(|v| v.clone()).unwrap_or_default()).unwrap_or_default();
    assert!(
        logs.contains("incoming webhook executed"),
        "the logs were captured: {logs}"
    );
    assert!(
        logs.contains("queue send failed"),
        "the dependency failure was logged"
    );
    for (what, needle) in [
        ("password", "Sup3rSecretPassw0rd"),
        ("webhook key", key.as_str()),
        ("incoming signing secret", signing),
        ("incoming signature", sig.as_str()),
        ("endpoint secret", outgoing_secret.as_str()),
        ("custom header", "custom-header-token"),
    ] {
        assert!(!logs.contains(needle), "the {what} appears in the logs");
        for (name, text) in [
            ("response", &ok.text),
            ("runs", &runs.text),
            ("deliveries", &deliveries.text),
        ] {
            if what != "endpoint secret" {
                assert!(!text.contains(needle), "the {what} appears in the {name}");
            }
        }
    }
}
