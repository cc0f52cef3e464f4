//! Secrets at rest (docs/reference/security.md#secrets-at-rest): stored secrets are sealed with KMS
//! envelope encryption (moto's KMS here), items written before sealing still read and are sealed by
//! their next write, and a call to an unknown incoming key is cheap.

use serde_json::json;
use switchboard_tests::TestEnv;

/// Every attribute value of every item, as text (what a table dump would show).
async fn dump(env: &TestEnv) -> String {
    format!("{:?}", env.all_items().await)
}

const HEADER: &str = "Bearer sealed-header-token-42";
const SIGNING: &str = "incoming-signing-secret-sealed-7";

#[tokio::test]
async fn the_table_holds_no_plaintext_secret_and_the_api_still_shows_them() {
    let env = TestEnv::new().await;
    let ep = env
        .admin(
            "POST",
            "/admin/webhooks",
            Some(
                json!({"name": "n", "url": "https://example.com/hook", "events": ["*"],
                        "headers": {"Authorization": HEADER}}),
            ),
        )
        .await;
    assert_eq!(ep.status, 201, "{}", ep.text);
    let secret = ep.body["secret"].as_str().unwrap_or_default().to_string();
    assert!(!secret.is_empty());
    let id = ep.body["id"].as_i64().unwrap_or_default();
    let rotated = env
        .admin("POST", &format!("/admin/webhooks/{id}/rotate-secret"), None)
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let (_wid, _key) = env
        .webhook(json!({"title": "T", "signing_secret": SIGNING}))
        .await;

    let raw = dump(&env).await;
    for plain in [secret.as_str(), HEADER, SIGNING] {
        assert!(!raw.contains(plain), "{plain} is stored in plaintext");
    }
    assert!(raw.contains(switchboard::vault::PREFIX), "{raw}");

    let shown = env
        .admin("GET", &format!("/admin/webhooks/{id}"), None)
        .await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(shown.text.contains(HEADER), "{}", shown.text);
    assert_ne!(shown.body["secret"].as_str(), Some(secret.as_str()));
    assert!(shown.body["secret"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn an_item_written_before_sealing_reads_and_is_sealed_on_its_next_write() {
    let before = TestEnv::with(|c| c.sealing_key_id = None).await;
    let ep = before
        .admin(
            "POST",
            "/admin/webhooks",
            Some(
                json!({"name": "old", "url": "https://example.com/hook", "events": ["*"],
                        "headers": {"Authorization": HEADER}}),
            ),
        )
        .await;
    assert_eq!(ep.status, 201, "{}", ep.text);
    let secret = ep.body["secret"].as_str().unwrap_or_default().to_string();
    let id = ep.body["id"].as_i64().unwrap_or_default();
    assert!(
        dump(&before).await.contains(&secret),
        "the open vault stores plaintext"
    );

    let stack = before.stack.clone();
    let now = TestEnv::on(stack.clone(), stack.config()).await;
    let shown = now
        .admin("GET", &format!("/admin/webhooks/{id}"), None)
        .await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.body["secret"].as_str(), Some(secret.as_str()));
    assert!(shown.text.contains(HEADER));

    let edited = now
        .admin(
            "PATCH",
            &format!("/admin/webhooks/{id}"),
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let raw = dump(&now).await;
    assert!(!raw.contains(&secret), "re-sealed on write");
    assert!(!raw.contains(HEADER), "re-sealed on write");
    let shown = now
        .admin("GET", &format!("/admin/webhooks/{id}"), None)
        .await;
    assert_eq!(shown.body["secret"].as_str(), Some(secret.as_str()));
    assert_eq!(shown.body["name"].as_str(), Some("renamed"));
}

#[tokio::test]
async fn an_unknown_key_costs_one_read_and_no_write() {
    let env = TestEnv::new().await;
    let before = env.calls.operations();
    let (ddb0, sqs0, ses0) = env.calls.snapshot();
    let r = env
        .post_form(
            "no-such-key-0123456789abcdef",
            &[("email", "junk@example.com")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let (ddb, sqs, ses) = env.calls.snapshot();
    assert!(ddb - ddb0 <= 1, "DynamoDB calls: {}", ddb - ddb0);
    assert_eq!((sqs - sqs0, ses - ses0), (0, 0));
    let after = env.calls.operations();
    for (op, n) in &after {
        if n != before.get(op).unwrap_or(&0) {
            assert_eq!(op, "dynamodb:GetItem", "{after:?}");
        }
    }
}

#[tokio::test]
async fn refused_calls_on_a_known_key_are_logged_within_a_budget() {
    let env = TestEnv::new().await;
    let (wid, key) = env
        .webhook(json!({"title": "T", "signing_secret": SIGNING}))
        .await;
    let budget = switchboard::app::incoming::REFUSED_LOG_BUDGET_PER_MINUTE as usize;
    for _ in 0..budget + 15 {
        let r = env.post_form(&key, &[("email", "a@example.com")]).await;
        assert!((400..500).contains(&r.status), "{}", r.text);
    }
    let runs = env
        .admin(
            "GET",
            &format!("/admin/incoming-webhooks/{wid}/runs?per_page=100"),
            None,
        )
        .await;
    assert_eq!(runs.status, 200, "{}", runs.text);
    let logged = runs.text.matches("\"failed\"").count();
    assert!(logged <= budget, "{logged} refused calls logged");
    assert!(logged > 0, "{}", runs.text);
}
