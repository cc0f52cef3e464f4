//! Erasure against moto (docs/reference/security.md#gdpr-and-erasure): `DELETE /admin/users/{id}`
//! erases a member's items, redacts their runs and deliveries, emits `user.deleted`, and the email
//! can join again.

use serde_json::{json, Value};
use switchboard_tests::fixtures::{endpoint_id, receiver, woocommerce_order};
use switchboard_tests::{basic, enc, TestEnv};

async fn woo_webhook(env: &TestEnv, space: i64) -> String {
    let (_, key) = env
        .webhook(
            json!({"title": "Shop", "source": "woocommerce", "source_secret": "ws",
            "space_ids": [space]}),
        )
        .await;
    key
}

async fn user_id(env: &TestEnv, email: &str) -> i64 {
    let r = env
        .admin("GET", &format!("/admin/users?email={}", enc(email)), None)
        .await;
    r.body["users"][0]["user_id"].as_i64().expect("a member")
}

/// Every stored item, as text (test inspection: a Scan).
async fn items_text(env: &TestEnv) -> Vec<String> {
    env.all_items()
        .await
        .iter()
        .map(|i| format!("{i:?}").to_lowercase())
        .collect()
}

async fn delete_until_done(env: &TestEnv, user_id: i64) -> Value {
    let r = env
        .admin("DELETE", &format!("/admin/users/{user_id}"), None)
        .await;
    assert!(matches!(r.status, 200 | 202), "{} {}", r.status, r.text);
    let id = r.body["erasure_id"]
        .as_str()
        .expect("erasure_id")
        .to_string();
    env.pump().await;
    let g = env
        .admin("GET", &format!("/admin/users/erasures/{id}"), None)
        .await;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.body["status"], "done", "{}", g.text);
    g.body
}

#[tokio::test]
async fn delete_erases_the_member_redacts_logs_emits_user_deleted_and_the_email_rejoins() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let ep = endpoint_id(&env, "rx", &rx.uri(), json!(["*"]), json!({})).await;
    let (s1, s2, s3) = (
        env.make("spaces", "One").await,
        env.make("spaces", "Two").await,
        env.make("spaces", "Shop").await,
    );
    let (form, key) = env
        .webhook(json!({"title": "Join", "space_ids": [s1, s2]}))
        .await;
    let shop = woo_webhook(&env, s3).await;
    let ada = "ada.erased@example.com";
    let r = env
        .post_form(
            &key,
            &[("email", ada), ("first_name", "Ada"), ("user_login", "ada")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    woocommerce_order(&env, &shop, "ws", 501, 7, ada).await;
    let r = env
        .post_form(&key, &[("email", "bob.kept@example.com")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.pump().await;
    let ada_id = user_id(&env, ada).await;
    let bob_id = user_id(&env, "bob.kept@example.com").await;
    let runs_before = env
        .admin(
            "GET",
            &format!("/admin/incoming-webhooks/{form}/runs"),
            None,
        )
        .await;
    let deliveries_before = env
        .admin("GET", &format!("/admin/webhooks/{ep}/deliveries"), None)
        .await;
    assert!(items_text(&env).await.iter().any(|i| i.contains(ada)));

    // Only the operator and `admin` erase; unknown ids are 404.
    let pw = env
        .admin(
            "POST",
            "/admin/app-passwords",
            Some(json!({"name": "dash", "scope": "read"})),
        )
        .await;
    let read = basic("dash", pw.body["password"].as_str().unwrap());
    let r = env
        .admin_raw(
            "DELETE",
            &format!("/admin/users/{ada_id}"),
            &[("authorization", &read)],
            "",
            "203.0.113.9",
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = env.admin("DELETE", "/admin/users/999999", None).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (404, Some("not_found")),
        "{}",
        r.text
    );
    let r = env.admin("GET", "/admin/users/erasures/nope", None).await;
    assert_eq!(r.status, 404, "{}", r.text);

    let job = delete_until_done(&env, ada_id).await;
    let counts = &job["counts"];
    assert_eq!(counts["memberships"], 3, "{job}");
    assert_eq!(counts["customer_maps"], 1, "{job}");
    assert_eq!(counts["object_states"], 1, "{job}");
    assert_eq!(counts["runs_redacted"], 2, "{job}");
    assert!(
        counts["deliveries_redacted"].as_u64().unwrap() >= 4,
        "{job}"
    );
    assert!(job.get("email").is_none());

    // No item names her any more: profile, claims, memberships, expiry entries, customer map,
    // object state, the job itself.
    let left: Vec<String> = items_text(&env)
        .await
        .into_iter()
        .filter(|i| i.contains(ada) || i.contains("login#ada"))
        .collect();
    assert!(left.is_empty(), "{left:#?}");
    let all = env.all_items().await;
    let kinds = |prefix: &str| {
        all.iter()
            .filter(|i| i["pk"].as_s().is_ok_and(|p| p.contains(prefix)))
            .count()
    };
    assert_eq!(kinds("#CUSTOMER#"), 0);
    assert_eq!(kinds("#OBJ#"), 0);
    let r = env
        .admin("GET", &format!("/admin/users/{ada_id}"), None)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = env
        .admin("GET", &format!("/admin/spaces/{s1}/members"), None)
        .await;
    let members: Vec<i64> = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_i64().unwrap())
        .collect();
    assert_eq!(members, vec![bob_id]);

    // Runs and deliveries stay as counted, redacted rows.
    let runs = env
        .admin(
            "GET",
            &format!("/admin/incoming-webhooks/{form}/runs"),
            None,
        )
        .await;
    assert_eq!(
        runs.body["pagination"]["total"],
        runs_before.body["pagination"]["total"]
    );
    for run in runs.body["runs"].as_array().unwrap() {
        if run["user_id"] == ada_id {
            assert_eq!(
                (run["email"].as_str(), &run["source_ip"]),
                (Some("<erased>"), &Value::Null),
                "{run}"
            );
            assert_eq!(run["status_code"], 200);
        } else {
            assert_eq!(run["email"], "bob.kept@example.com", "{run}");
        }
    }
    let deliveries = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{ep}/deliveries?per_page=100"),
            None,
        )
        .await;
    let total = |b: &Value| b["pagination"]["total"].as_u64().unwrap();
    // Before, plus user.deleted.
    assert_eq!(total(&deliveries.body), total(&deliveries_before.body) + 1);
    let page = env
        .app
        .store_for_tests()
        .deliveries
        .list(ep, None, &Default::default())
        .await
        .unwrap();
    let erased = page
        .items
        .iter()
        .filter(|d| d.payload == "<erased>")
        .count();
    assert_eq!(
        erased as u64,
        counts["deliveries_redacted"].as_u64().unwrap()
    );
    assert!(page
        .items
        .iter()
        .all(|d| d.status == switchboard::domain::delivery::DeliveryStatus::Success));

    // user.deleted reached the subscriber, with the id only.
    let got: Vec<Value> = rx
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .filter(|b: &Value| b["event"] == "user.deleted")
        .collect();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["data"], json!({"user_id": ada_id}));

    // A repeated DELETE reports the same erasure; the email joins again as a new member.
    let again = env
        .admin("DELETE", &format!("/admin/users/{ada_id}"), None)
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["erasure_id"], job["erasure_id"]);
    let r = env.post_form(&key, &[("email", ada)]).await;
    assert_eq!(
        (r.status, &r.body["created"]),
        (200, &json!(true)),
        "{}",
        r.text
    );
    let new_id = r.body["user_id"].as_i64().unwrap();
    assert_ne!(new_id, ada_id);
    let r = env
        .admin("GET", &format!("/admin/users/{new_id}"), None)
        .await;
    assert_eq!(
        r.body["spaces"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_long_log_is_walked_page_by_page_through_the_queue() {
    let env = TestEnv::new().await;
    let (form, key) = env.webhook(json!({"title": "Busy"})).await;
    let ada = "ada.busy@example.com";
    for i in 0..70 {
        let email = if i % 2 == 0 {
            ada.to_string()
        } else {
            format!("other{i}@example.com")
        };
        let r = env.post_form(&key, &[("email", &email)]).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let ada_id = user_id(&env, ada).await;
    let r = env
        .admin("DELETE", &format!("/admin/users/{ada_id}"), None)
        .await;
    // The member's items and four pages fit one step; the rest continues on the queue.
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (202, Some("running")),
        "{}",
        r.text
    );
    let id = r.body["erasure_id"].as_str().unwrap().to_string();
    // The queue alone completes it.
    env.pump().await;
    let g = env
        .admin("GET", &format!("/admin/users/erasures/{id}"), None)
        .await;
    assert_eq!(g.body["status"], "done", "{}", g.text);
    assert_eq!(g.body["counts"]["runs_redacted"], 35, "{}", g.text);
    let runs = env
        .admin(
            "GET",
            &format!("/admin/incoming-webhooks/{form}/runs?per_page=100"),
            None,
        )
        .await;
    let rows = runs.body["runs"].as_array().unwrap();
    assert_eq!(rows.len(), 70);
    let erased = rows.iter().filter(|r| r["email"] == "<erased>").count();
    assert_eq!(erased, 35);
    assert!(rows.iter().all(|r| r["email"] != ada));
}
