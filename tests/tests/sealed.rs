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
            assert_eq!(op, "dynamodb:BatchGetItem", "{after:?}");
        }
    }

    // Once a webhook exists (and with it the deployment key), an unknown key still costs one
    // read: on this instance, and on a cold one that loaded the key when it started.
    let (_, key) = env.webhook(json!({"title": "T"})).await;
    assert_eq!(
        env.post_form(&key, &[("email", "ok@example.com")])
            .await
            .status,
        200
    );
    let cold = TestEnv::on(env.stack.clone(), env.stack.config()).await;
    cold.app.incoming().warm().await;
    for e in [&env, &cold] {
        let (ddb0, sqs0, ses0) = e.calls.snapshot();
        let r = e
            .post_form(
                "no-such-key-fedcba9876543210",
                &[("email", "junk@example.com")],
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.text);
        let (ddb, sqs, ses) = e.calls.snapshot();
        assert_eq!((ddb - ddb0, sqs - sqs0, ses - ses0), (1, 0, 0));
    }
    assert_eq!(
        cold.post_form(&key, &[("email", "ok@example.com")])
            .await
            .status,
        200
    );
}

/// The partition and sort keys of every item.
async fn item_keys(env: &TestEnv) -> Vec<(String, String)> {
    let text = |i: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
                k: &str| {
        i.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    env.all_items()
        .await
        .iter()
        .map(|i| (text(i, "pk"), text(i, "sk")))
        .collect()
}

fn key_items(keys: &[(String, String)]) -> Vec<&String> {
    keys.iter()
        .filter(|(pk, sk)| sk == "IWHKEY" && pk.starts_with("IWHKEY#"))
        .map(|(pk, _)| pk)
        .collect()
}

#[tokio::test]
async fn incoming_keys_are_stored_as_a_keyed_hash_and_still_open_their_url() {
    let env = TestEnv::new().await;
    let (wid, key) = env.webhook(json!({"title": "T"})).await;
    assert_eq!(
        env.post_form(&key, &[("email", "h@example.com")])
            .await
            .status,
        200
    );
    let raw = dump(&env).await;
    assert!(!raw.contains(&key), "the key is stored in plaintext: {raw}");
    let keys = item_keys(&env).await;
    let lookups = key_items(&keys);
    assert_eq!(lookups.len(), 1, "{keys:?}");
    assert_eq!(lookups[0].len(), "IWHKEY#".len() + 64, "{keys:?}");
    assert!(keys.iter().any(|(pk, _)| pk == "DEPLOYKEY"), "{keys:?}");
    // The operator still sees the key and the URL.
    let shown = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}"), None)
        .await;
    assert_eq!(
        shown.body["key"].as_str(),
        Some(key.as_str()),
        "{}",
        shown.text
    );
    assert!(shown.body["webhook_url"].as_str().unwrap().ends_with(&key));
    // A second instance (a cold start) reads the same deployment key: the URL works there.
    let other = TestEnv::on(env.stack.clone(), env.stack.config()).await;
    assert_eq!(
        other
            .post_form(&key, &[("email", "h2@example.com")])
            .await
            .status,
        200
    );
    // Rotation: the old URL stops, the new one works, one hashed item is left.
    let rotated = env
        .admin(
            "POST",
            &format!("/admin/incoming-webhooks/{wid}/rotate"),
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_key = rotated.body["key"].as_str().unwrap().to_string();
    assert_eq!(
        env.post_form(&key, &[("email", "h@example.com")])
            .await
            .status,
        404
    );
    assert_eq!(
        env.post_form(&new_key, &[("email", "h@example.com")])
            .await
            .status,
        200
    );
    let keys = item_keys(&env).await;
    assert_eq!(key_items(&keys).len(), 1, "{keys:?}");
    assert!(!dump(&env).await.contains(&new_key));
    // Deletion removes it.
    let deleted = env
        .admin("DELETE", &format!("/admin/incoming-webhooks/{wid}"), None)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert!(key_items(&item_keys(&env).await).is_empty());
}

/// Rewrites a webhook's key item the way it was stored before keys were hashed: at
/// `IWHKEY#{key}`, its key in plaintext in `data`.
async fn make_legacy(env: &TestEnv, wid: i64, key: &str) {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let store = env.app.store_for_tests();
    let (client, table) = store.table.client();
    let text = |i: &std::collections::HashMap<String, V>, k: &str| {
        i.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let mut item = env
        .all_items()
        .await
        .into_iter()
        .find(|i| {
            text(i, "sk") == "IWHKEY"
                && text(i, "pk").starts_with("IWHKEY#")
                && i.get("data")
                    .and_then(|d| d.as_m().ok())
                    .and_then(|d| d.get("id"))
                    .and_then(|v| v.as_n().ok())
                    .is_some_and(|n| n == &wid.to_string())
        })
        .expect("the webhook's key item");
    let hashed = std::collections::HashMap::from([
        ("pk".to_string(), V::S(text(&item, "pk"))),
        ("sk".to_string(), V::S("IWHKEY".into())),
    ]);
    item.insert("pk".into(), V::S(format!("IWHKEY#{key}")));
    if let Some(V::M(data)) = item.get_mut("data") {
        data.insert("key".into(), V::S(key.into()));
    }
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    client
        .delete_item()
        .table_name(table)
        .set_key(Some(hashed))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_webhook_stored_before_keys_were_hashed_works_and_is_migrated() {
    let env = TestEnv::new().await;
    let (wid, key) = env.webhook(json!({"title": "Old"})).await;
    make_legacy(&env, wid, &key).await;
    let legacy = format!("IWHKEY#{key}");
    assert!(key_items(&item_keys(&env).await).contains(&&legacy));

    // A cold instance (the deployment key loaded at its start) runs it by its URL, in one read,
    // and moves the item to its hashed key.
    let cold = TestEnv::on(env.stack.clone(), env.stack.config()).await;
    cold.app.incoming().warm().await;
    let r = cold.post_form(&key, &[("email", "old@example.com")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys = item_keys(&env).await;
    let lookups = key_items(&keys);
    assert_eq!(lookups.len(), 1, "{keys:?}");
    assert_ne!(lookups[0], &legacy, "migrated");
    assert!(
        keys.iter()
            .all(|(pk, sk)| !pk.contains(&key) && !sk.contains(&key)),
        "{keys:?}"
    );
    // It keeps working after the move, on both instances.
    for e in [&cold, &env] {
        let r = e.post_form(&key, &[("email", "old2@example.com")]).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[tokio::test]
async fn a_legacy_webhook_rotated_or_deleted_leaves_no_key_item() {
    let env = TestEnv::new().await;
    let (wid, key) = env.webhook(json!({"title": "Old"})).await;
    make_legacy(&env, wid, &key).await;
    let rotated = env
        .admin(
            "POST",
            &format!("/admin/incoming-webhooks/{wid}/rotate"),
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_key = rotated.body["key"].as_str().unwrap().to_string();
    assert_eq!(
        env.post_form(&key, &[("email", "r@example.com")])
            .await
            .status,
        404
    );
    assert_eq!(
        env.post_form(&new_key, &[("email", "r@example.com")])
            .await
            .status,
        200
    );
    let keys = item_keys(&env).await;
    assert_eq!(key_items(&keys).len(), 1, "{keys:?}");
    assert!(keys.iter().all(|(pk, _)| !pk.contains(&key)), "{keys:?}");

    // An edit of a legacy webhook writes the hashed item and removes the legacy one.
    let (wid2, key2) = env.webhook(json!({"title": "Old 2"})).await;
    make_legacy(&env, wid2, &key2).await;
    let edited = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{wid2}"),
            Some(json!({"title": "Edited"})),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert!(item_keys(&env)
        .await
        .iter()
        .all(|(pk, _)| !pk.contains(&key2)));
    assert_eq!(
        env.post_form(&key2, &[("email", "e@example.com")])
            .await
            .status,
        200
    );

    // Deleting a legacy webhook removes its legacy item.
    let (wid3, key3) = env.webhook(json!({"title": "Old 3"})).await;
    make_legacy(&env, wid3, &key3).await;
    let deleted = env
        .admin("DELETE", &format!("/admin/incoming-webhooks/{wid3}"), None)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert!(item_keys(&env)
        .await
        .iter()
        .all(|(pk, _)| !pk.contains(&key3)));
    assert_eq!(
        env.post_form(&key3, &[("email", "d@example.com")])
            .await
            .status,
        404
    );
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
