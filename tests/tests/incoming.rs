//! Incoming webhook execution against moto (docs/reference/incoming.md,
//! docs/reference/incoming.md#urls-and-bodies).

use serde_json::{json, Value};
use switchboard_tests::{Stack, TestEnv};

fn items_text(
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
) -> String {
    format!("{items:?}")
}

#[tokio::test]
async fn new_member_joins_spaces_and_courses() {
    // A unique address: moto keeps the mail it "sent" for the emulator's whole life.
    let email = format!("john.doe+{}@example.com", ulid_like());
    let mixed = email
        .replace("john.doe", "John.Doe")
        .replace("example.com", "Example.COM");
    let env = TestEnv::new().await;
    let space = env.make("spaces", "Premium Members").await;
    let course = env.make("courses", "Onboarding").await;
    let (wid, key) = env
        .webhook(json!({"title": "Purchases", "space_ids": [space], "course_ids": [course], "send_wp_welcome_email": true}))
        .await;

    let r = env
        .post_form(
            &key,
            &[
                ("email", mixed.as_str()),
                ("first_name", "John"),
                ("last_name", "Doe"),
                ("user_login", "johndoe"),
                ("user_pass", "SecurePassword123"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["status"], "success");
    assert_eq!(b["success"], true);
    assert_eq!(b["message"], "webhook has been successfully executed");
    assert!(b["execution_timestamp"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(b["created"], true);
    assert_eq!(
        b["spaces"],
        json!({"added": [space], "removed": [], "skipped": []})
    );
    assert_eq!(
        b["courses"],
        json!({"added": [course], "removed": [], "skipped": []})
    );
    assert_eq!(b["welcome_email"], "sent");
    let user_id = b["user_id"].as_i64().unwrap();
    assert!(!r.text.contains("SecurePassword123"));

    // Visible through the admin API, with its space and course.
    let u = env
        .admin(
            "GET",
            &format!("/admin/users?email={}", switchboard_tests::enc(&email)),
            None,
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let user = &u.body["users"][0];
    assert_eq!(user["user_id"], user_id);
    assert_eq!(user["username"], "johndoe");
    assert_eq!(user["display_name"], "John Doe");
    assert_eq!(user["role"], "subscriber");
    assert_eq!(user["spaces"][0]["space_id"], space);
    assert_eq!(user["spaces"][0]["origin"], "by_admin");
    assert_eq!(user["spaces"][0]["incoming_webhook_id"], wid);
    assert_eq!(user["courses"][0]["course_id"], course);
    let by_id = env
        .admin("GET", &format!("/admin/users/{user_id}"), None)
        .await;
    assert_eq!(by_id.body["email"], email.as_str());
    let members = env
        .admin("GET", &format!("/admin/spaces/{space}/members"), None)
        .await;
    assert_eq!(members.body["members"][0]["user_id"], user_id);
    assert_eq!(members.body["pagination"]["total"], 1);
    let enrollments = env
        .admin("GET", &format!("/admin/courses/{course}/enrollments"), None)
        .await;
    assert_eq!(enrollments.body["enrollments"][0]["user_id"], user_id);

    // Counted and logged.
    let w = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}"), None)
        .await;
    assert_eq!(w.body["running_count"], 1);
    assert!(w.body["last_run_at"].is_string());
    let runs = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}/runs"), None)
        .await;
    let run = &runs.body["runs"][0];
    assert_eq!(run["email"], email.as_str());
    assert_eq!(run["created"], true);
    assert_eq!(run["outcome"], "success");
    assert_eq!(run["status_code"], 200);
    assert_eq!(run["source_ip"], "203.0.113.9");
    assert_eq!(run["spaces"]["added"], json!([space]));

    // Events: one batch on the queue, with what actually changed.
    let queued = env.queued().await;
    let events: Vec<Value> = queued
        .iter()
        .flat_map(|b| b["events"].as_array().cloned().unwrap_or_default())
        .collect();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for expected in [
        "user.registered",
        "space.member_joined",
        "course.enrolled",
        "incoming_webhook.processed",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let joined = events
        .iter()
        .find(|e| e["event"] == "space.member_joined")
        .unwrap();
    assert_eq!(joined["data"]["space_id"], space);
    assert_eq!(joined["data"]["user_id"], user_id);
    assert_eq!(joined["data"]["incoming_webhook_id"], wid);
    assert_eq!(joined["xprofile"]["username"], "johndoe");

    // The welcome email went out through SES, addressed to the member, without the password.
    let mail = env.stack.sent_mail().await;
    let mine: Vec<&Value> = mail
        .iter()
        .filter(|m| m.to_string().contains(&email))
        .collect();
    assert_eq!(mine.len(), 1, "{mail:?}");
    assert!(!mine[0].to_string().contains("SecurePassword123"));
    assert!(mine[0].to_string().contains("Switchboard Community"));

    // The password exists nowhere in clear: not in any item, run, outbox entry or event.
    let all = items_text(&env.all_items().await);
    assert!(!all.contains("SecurePassword123"));
    assert!(all.contains("$argon2id$"));
    assert!(!format!("{queued:?}").contains("argon2"));
}

#[tokio::test]
async fn existing_member_with_nothing_to_change_is_idempotent() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space], "send_welcome_email": true}))
        .await;
    let first = env.post_form(&key, &[("email", "a@example.com")]).await;
    assert_eq!(first.body["created"], true);
    let before = env.queued().await.len();
    let again = env
        .post_form(
            &key,
            &[("email", "A@EXAMPLE.COM"), ("first_name", "Ignored")],
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["created"], false);
    assert_eq!(again.body["user_id"], first.body["user_id"]);
    assert_eq!(
        again.body["spaces"],
        json!({"added": [], "removed": [], "skipped": []})
    );
    assert_eq!(again.body["welcome_email"], "existing_user");
    // Only `incoming_webhook.processed` is emitted for the second call.
    let queued = env.queued().await;
    assert_eq!(queued.len(), before + 1);
    let last: Vec<String> = queued
        .iter()
        .flat_map(|b| b["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["data"]["created"] == false)
        .map(|e| e["event"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(last, vec!["incoming_webhook.processed"]);
    let u = env
        .admin("GET", "/admin/users?email=a@example.com", None)
        .await;
    assert_eq!(u.body["users"][0]["first_name"], "");
}

#[tokio::test]
async fn remove_then_add_and_deleted_spaces_are_skipped() {
    let env = TestEnv::new().await;
    let free = env.make("spaces", "Free").await;
    let premium = env.make("spaces", "Premium").await;
    let gone = env.make("spaces", "Gone").await;
    let (_, upgrade) = env
        .webhook(json!({"title": "Upgrade", "space_ids": [free]}))
        .await;
    env.post_form(&upgrade, &[("email", "m@example.com")]).await;
    let (_, swap) = env
        .webhook(json!({"title": "Swap", "space_ids": [premium, gone], "remove_space_ids": [free]}))
        .await;
    let d = env
        .admin("DELETE", &format!("/admin/spaces/{gone}"), None)
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    let r = env.post_form(&swap, &[("email", "m@example.com")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["spaces"],
        json!({"added": [premium], "removed": [free], "skipped": [gone]})
    );
    let u = env
        .admin("GET", "/admin/users?email=m@example.com", None)
        .await;
    let spaces: Vec<i64> = u.body["users"][0]["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["space_id"].as_i64().unwrap())
        .collect();
    assert_eq!(spaces, vec![premium]);
    // Deleting a space removes its memberships.
    env.admin("DELETE", &format!("/admin/spaces/{premium}"), None)
        .await;
    let u = env
        .admin("GET", "/admin/users?email=m@example.com", None)
        .await;
    assert_eq!(u.body["users"][0]["spaces"], json!([]));
    let events: Vec<Value> = env
        .queued()
        .await
        .iter()
        .flat_map(|b| b["events"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(events
        .iter()
        .any(|e| e["event"] == "space.member_left" && e["data"]["space_id"] == free));
}

#[tokio::test]
async fn courses_only_when_the_module_is_enabled() {
    let env = TestEnv::with(|c| c.course_module_enabled = false).await;
    let course = env.make("courses", "C").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "course_ids": [course]}))
        .await;
    let r = env.post_form(&key, &[("email", "c@example.com")]).await;
    assert_eq!(
        r.body["courses"],
        json!({"added": [], "removed": [], "skipped": [course]})
    );
    let u = env
        .admin("GET", "/admin/users?email=c@example.com", None)
        .await;
    assert_eq!(u.body["users"][0]["courses"], json!([]));
}

#[tokio::test]
async fn sixteen_concurrent_calls_create_one_member() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (wid, key) = env
        .webhook(json!({"title": "T", "space_ids": [space]}))
        .await;
    let calls = (0..16).map(|_| {
        env.post_form(
            &key,
            &[("email", "race@example.com"), ("user_login", "racer")],
        )
    });
    let results = futures::future::join_all(calls).await;
    for r in &results {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let created = results.iter().filter(|r| r.body["created"] == true).count();
    assert_eq!(created, 1);
    let ids: std::collections::BTreeSet<i64> = results
        .iter()
        .map(|r| r.body["user_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1);
    let added = results
        .iter()
        .filter(|r| r.body["spaces"]["added"] == json!([space]))
        .count();
    assert_eq!(added, 1, "exactly one call adds the membership");
    let users = env.admin("GET", "/admin/users", None).await;
    assert_eq!(users.body["pagination"]["total"], 1);
    let w = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}"), None)
        .await;
    assert_eq!(w.body["running_count"], 16);
}

#[tokio::test]
async fn logins_are_derived_when_missing_or_taken() {
    let env = TestEnv::new().await;
    let (_, key) = env.webhook(json!({"title": "T"})).await;
    let a = env
        .post_form(
            &key,
            &[("email", "sam@one.example"), ("user_login", "<b>Sam</b>")],
        )
        .await;
    let b = env
        .post_form(&key, &[("email", "sam@two.example"), ("user_login", "sam")])
        .await;
    let c = env.post_form(&key, &[("email", "sam@three.example")]).await;
    let mut logins = vec![];
    for r in [&a, &b, &c] {
        let id = r.body["user_id"].as_i64().unwrap();
        let u = env.admin("GET", &format!("/admin/users/{id}"), None).await;
        logins.push(u.body["username"].as_str().unwrap().to_string());
    }
    assert_eq!(logins, vec!["Sam", "sam1", "sam2"]);
}

#[tokio::test]
async fn url_forms_content_types_and_statuses() {
    let env = TestEnv::new().await;
    let (_, key) = env.webhook(json!({"title": "T"})).await;
    let multipart = b"--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmp@example.com\r\n--XyZ--\r\n".to_vec();
    let mp = [("content-type", "multipart/form-data; boundary=XyZ")];
    for path in [
        format!("/webhook/{key}"),
        format!("/wp-json/fluent-community/v2/webhook/{key}"),
        format!("/portal/?fcom_action=incoming_webhook&webhook={key}"),
    ] {
        let r = env
            .incoming("POST", &path, mp.to_vec(), multipart.clone())
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let json_call = env
        .incoming(
            "POST",
            &format!("/webhook/{key}"),
            vec![("content-type", "application/json")],
            br#"{"email":"js@example.com","first_name":"J"}"#.to_vec(),
        )
        .await;
    assert_eq!(json_call.status, 200, "{}", json_call.text);

    let failed = |r: &switchboard_tests::Resp, status: u16| {
        assert_eq!(r.status, status, "{}", r.text);
        assert_eq!(r.body["status"], "failed");
        assert_eq!(r.body["success"], false);
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    failed(
        &env.post_form("NoSuchKeyNoSuchKey", &[("email", "x@example.com")])
            .await,
        404,
    );
    failed(
        &env.incoming(
            "POST",
            "/portal/?fcom_action=other&webhook=x",
            vec![],
            vec![],
        )
        .await,
        404,
    );
    failed(
        &env.incoming("POST", &format!("/webhook/{key}"), vec![], vec![])
            .await,
        423,
    );
    failed(
        &env.post_form(&key, &[("first_name", "No email")]).await,
        423,
    );
    failed(
        &env.post_form(&key, &[("email", "not-an-email")]).await,
        423,
    );
    let get = env
        .incoming("GET", &format!("/webhook/{key}"), vec![], vec![])
        .await;
    failed(&get, 405);
    assert_eq!(get.headers.get("allow").unwrap(), "POST");
    failed(
        &env.incoming("PUT", &format!("/webhook/{key}"), vec![], vec![])
            .await,
        405,
    );
    failed(
        &env.incoming(
            "POST",
            &format!("/webhook/{key}"),
            vec![("content-type", "text/plain")],
            b"email=a@b.co".to_vec(),
        )
        .await,
        415,
    );
    let huge = format!("email=a%40example.com&pad={}", "x".repeat(300 * 1024));
    failed(
        &env.incoming(
            "POST",
            &format!("/webhook/{key}"),
            vec![("content-type", "application/x-www-form-urlencoded")],
            huge.into_bytes(),
        )
        .await,
        413,
    );
}

#[tokio::test]
async fn malformed_bodies_are_4xx_and_change_nothing() {
    let env = TestEnv::new().await;
    let (_, key) = env.webhook(json!({"title": "T"})).await;
    let path = format!("/webhook/{key}");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "multipart/form-data; boundary=XyZ",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nt@example.com"
                .to_vec(),
        ),
        ("multipart/form-data", b"--XyZ\r\n".to_vec()),
        ("multipart/form-data; boundary=XyZ", b"garbage".to_vec()),
        (
            "application/x-www-form-urlencoded",
            b"email=%ZZ%40example.com".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"email=a%FF%40example.com".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            vec![b'e', b'=', 0xff, 0xfe],
        ),
        (
            "application/json",
            b"[\"email\", \"a@example.com\"]".to_vec(),
        ),
        (
            "application/json",
            b"{\"email\": \"a@example.com\"".to_vec(),
        ),
        ("application/json", b"\"a@example.com\"".to_vec()),
        ("application/json", vec![b'{', 0xff, b'}']),
        ("application/json", b"{\"email\": 5}".to_vec()),
        (
            "application/json",
            b"{\"email\": [\"a@example.com\"]}".to_vec(),
        ),
    ];
    for (ct, body) in cases {
        let r = env
            .incoming("POST", &path, vec![("content-type", ct)], body.clone())
            .await;
        assert!(
            (400..500).contains(&r.status),
            "{ct} {:?} -> {} {}",
            String::from_utf8_lossy(&body),
            r.status,
            r.text
        );
        assert_eq!(r.body["success"], false, "{}", r.text);
    }
    let users = env.admin("GET", "/admin/users", None).await;
    assert_eq!(users.body["pagination"]["total"], 0);
}

#[tokio::test]
async fn validation_rules_ip_and_signature() {
    let env = TestEnv::new().await;
    let (wid, key) = env
        .webhook(json!({"title": "T", "allowed_ips": ["198.51.100.0/24"]}))
        .await;
    let body = b"email=ip%40example.com".to_vec();
    let ct = vec![("content-type", "application/x-www-form-urlencoded")];
    let path = format!("/webhook/{key}");
    assert_eq!(
        env.incoming_from("POST", &path, ct.clone(), body.clone(), "203.0.113.1")
            .await
            .status,
        403
    );
    assert_eq!(
        env.incoming_from("POST", &path, ct.clone(), body.clone(), "198.51.100.7")
            .await
            .status,
        200
    );

    let secret = "a-shared-signing-secret";
    let u = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{wid}"),
            Some(json!({"allowed_ips": [], "signing_secret": secret})),
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["signing_secret_set"], true);
    assert!(!u.text.contains(secret));
    assert_eq!(
        env.incoming("POST", &path, ct.clone(), body.clone())
            .await
            .status,
        403
    );
    let bad = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-webhook-signature", "sha256=00"),
    ];
    assert_eq!(
        env.incoming("POST", &path, bad.to_vec(), body.clone())
            .await
            .status,
        403
    );
    let sig = format!(
        "sha256={}",
        switchboard::domain::secret::hmac_sha256_hex(secret.as_bytes(), &body)
    );
    let good = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-webhook-signature", sig.as_str()),
    ];
    assert_eq!(
        env.incoming("POST", &path, good.to_vec(), body.clone())
            .await
            .status,
        200
    );
    // Standard Webhooks headers work too.
    let ts = jiff_now();
    let sw = switchboard::domain::secret::standard_webhooks_sign(secret, "msg_1", ts, &body);
    let ts_s = ts.to_string();
    let std_headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", ts_s.as_str()),
        ("webhook-signature", sw.as_str()),
    ];
    assert_eq!(
        env.incoming("POST", &path, std_headers.to_vec(), body.clone())
            .await
            .status,
        200
    );
    // Refused calls are in the activity log, without the signature.
    let runs = env
        .admin(
            "GET",
            &format!("/admin/incoming-webhooks/{wid}/runs?per_page=100"),
            None,
        )
        .await;
    let failed: Vec<&Value> = runs.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status_code"] == 403)
        .collect();
    assert_eq!(failed.len(), 3);
    assert!(!runs.text.contains(secret));
}

fn jiff_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn disabled_rotated_and_deleted_webhooks() {
    let env = TestEnv::new().await;
    let (wid, key) = env
        .webhook(json!({"title": "T", "status": "inactive"}))
        .await;
    assert_eq!(
        env.post_form(&key, &[("email", "d@example.com")])
            .await
            .status,
        423
    );
    env.admin(
        "PUT",
        &format!("/admin/incoming-webhooks/{wid}"),
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(
        env.post_form(&key, &[("email", "d@example.com")])
            .await
            .status,
        200
    );
    let rotated = env
        .admin(
            "POST",
            &format!("/admin/incoming-webhooks/{wid}/rotate"),
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_key = rotated.body["key"].as_str().unwrap().to_string();
    assert_ne!(new_key, key);
    assert!(rotated.body["webhook_url"]
        .as_str()
        .unwrap()
        .ends_with(&new_key));
    assert_eq!(
        env.post_form(&key, &[("email", "d@example.com")])
            .await
            .status,
        404
    );
    assert_eq!(
        env.post_form(&new_key, &[("email", "d@example.com")])
            .await
            .status,
        200
    );
    assert_eq!(
        env.admin("DELETE", &format!("/admin/incoming-webhooks/{wid}"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        env.post_form(&new_key, &[("email", "d@example.com")])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (wid, key) = env
        .webhook(json!({"title": "T", "space_ids": [space]}))
        .await;
    let path = format!("/webhook/{key}");
    let send = || {
        env.incoming(
            "POST",
            &path,
            vec![
                ("content-type", "application/json"),
                ("idempotency-key", "order-1001"),
            ],
            br#"{"email":"idem@example.com"}"#.to_vec(),
        )
    };
    let first = send().await;
    let second = send().await;
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_eq!(first.body, second.body);
    assert_eq!(second.body["created"], true);
    let w = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}"), None)
        .await;
    assert_eq!(w.body["running_count"], 1, "the work was done once");
}

#[tokio::test]
async fn field_map_stores_profile_meta() {
    let env = TestEnv::new().await;
    let (_, key) = env
        .webhook(json!({"title": "T", "field_map": {"company": "company_name"}}))
        .await;
    env.post_form(
        &key,
        &[("email", "f@example.com"), ("company", "Acme <Inc>")],
    )
    .await;
    let u = env
        .admin("GET", "/admin/users?email=f@example.com", None)
        .await;
    assert_eq!(u.body["users"][0]["meta"]["company_name"], "Acme <Inc>");
}

#[tokio::test]
async fn queue_outage_keeps_events_in_the_outbox_until_swept() {
    let stack = Stack::create().await;
    let mut broken = stack.config();
    broken.queue_url = format!("{}/123456789012/no-such-queue", stack.endpoint);
    let env = TestEnv::on(stack.clone(), broken).await;
    let (_, key) = env.webhook(json!({"title": "T"})).await;
    let r = env.post_form(&key, &[("email", "o@example.com")]).await;
    assert_eq!(
        r.status, 200,
        "the change is committed even if the queue is down: {}",
        r.text
    );
    assert!(env.queued().await.is_empty());
    let outbox = items_text(&env.all_items().await);
    assert!(outbox.contains("OUTBOX#"), "the batch waits in the outbox");

    // The sweeper of a healthy instance re-sends it once it is older than the grace period.
    let healthy = TestEnv::on(stack.clone(), Stack::config(&stack)).await;
    let mut cfg = stack.config();
    cfg.outbox_grace_seconds = -5;
    let sweeper = TestEnv::on(stack.clone(), cfg).await;
    assert!(sweeper.app.outbox().sweep().await.unwrap() >= 1);
    let queued = healthy.queued().await;
    assert!(queued
        .iter()
        .any(|b| b["events"].to_string().contains("o@example.com")));
    // Consuming the batch removes it from the outbox; a redelivery is then a no-op.
    let body = queued[0].to_string();
    for _ in 0..2 {
        healthy
            .app
            .deliveries()
            .handle_message(&body)
            .await
            .unwrap();
    }
    let left = items_text(&healthy.all_items().await);
    assert!(!left.contains("OUTBOX#"), "{left}");
}

#[tokio::test]
async fn aws_calls_per_execution_stay_near_the_floor() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space]}))
        .await;
    let trips = || {
        env.calls
            .round_trips
            .load(std::sync::atomic::Ordering::SeqCst)
    };
    // The instance's first call on the key reads the webhook alone (an unknown key costs one
    // read); from then on the reads of a call go in one round trip.
    env.post_form(&key, &[("email", "first@example.com")]).await;
    let before = env.calls.snapshot();
    let t0 = trips();
    env.post_form(&key, &[("email", "count@example.com")]).await;
    let mid = env.calls.snapshot();
    let t1 = trips();
    env.post_form(&key, &[("email", "count@example.com")]).await;
    let after = env.calls.snapshot();
    let t2 = trips();
    let new_member = (mid.0 - before.0, mid.1 - before.1);
    let idle = (after.0 - mid.0, after.1 - mid.1);
    println!(
        "AWS calls, new member joining a space: dynamodb {} sqs {}",
        new_member.0, new_member.1
    );
    println!(
        "AWS calls, existing member, nothing to change: dynamodb {} sqs {}",
        idle.0, idle.1
    );
    // Nothing goes to SQS on the request path: the outbox item written in the transaction
    // reaches the queue through the table's stream (`relay`).
    println!(
        "round trips: new member {}, existing member {}",
        t1 - t0,
        t2 - t1
    );
    // New member: webhook + member lookups (concurrent: one round trip), the id counter, the
    // transaction — 3 round trips.
    assert_eq!(new_member, (4, 0));
    assert!(t1 - t0 <= 3, "new member: {} round trips", t1 - t0);
    // Existing member: the two lookups (concurrent: one round trip), the transaction — 2.
    assert_eq!(idle, (3, 0));
    assert!(t2 - t1 <= 2, "existing member: {} round trips", t2 - t1);
}

fn ulid_like() -> String {
    switchboard::domain::time::new_ulid()
        .to_string()
        .to_lowercase()
}

/// The worst case a webhook may be configured for (docs/reference/incoming.md under DynamoDB's
/// limits, see `incoming::limits`): 40 membership changes, a 20-field map full of escaped
/// characters and an idempotency key commit in one transaction; one id or one field more is refused
/// on save.
#[tokio::test]
async fn the_largest_configuration_executes_in_one_transaction() {
    let env = TestEnv::new().await;
    let mut spaces = Vec::new();
    let mut courses = Vec::new();
    for i in 0..20 {
        spaces.push(env.make("spaces", &format!("S{i}")).await);
        courses.push(env.make("courses", &format!("C{i}")).await);
    }
    let field_map: serde_json::Map<String, Value> = (0..20)
        .map(|i| (format!("f{i}"), json!(format!("meta_{i}"))))
        .collect();
    let (wid, key) = env
        .webhook(json!({"title": "Everything", "space_ids": spaces, "course_ids": courses, "field_map": field_map}))
        .await;
    let mut body = serde_json::Map::new();
    body.insert("email".into(), json!("worst@example.com"));
    for i in 0..20 {
        body.insert(format!("f{i}"), json!("\"\u{1}é<".repeat(600)));
    }
    async fn call(env: &TestEnv, key: &str, idem: &str, body: &Value) -> switchboard_tests::Resp {
        env.incoming(
            "POST",
            &format!("/webhook/{key}"),
            vec![
                ("content-type", "application/json"),
                ("idempotency-key", idem),
            ],
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }
    let body = Value::Object(body);
    let r = call(&env, &key, "worst-1", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["spaces"]["added"].as_array().unwrap().len(), 20);
    assert_eq!(r.body["courses"]["added"].as_array().unwrap().len(), 20);
    let batches = env.queued().await;
    let events: usize = batches
        .iter()
        .flat_map(|b| b["events"].as_array().unwrap().clone())
        .filter(|e| e["data"]["incoming_webhook_id"] == wid)
        .count();
    assert_eq!(events, 42, "user.registered, 40 joins, processed");
    for b in &batches {
        assert!(b.to_string().len() < 256 * 1024, "fits an SQS message");
    }

    // The same member leaving all of it: 40 removals in one call.
    let (_, leave) = env
        .webhook(
            json!({"title": "Leave", "remove_space_ids": spaces, "remove_course_ids": courses}),
        )
        .await;
    let r = call(&env, &leave, "worst-2", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["spaces"]["removed"].as_array().unwrap().len(), 20);
    assert_eq!(r.body["courses"]["removed"].as_array().unwrap().len(), 20);

    // One more id, or one more mapped field, is refused and names the field.
    let more = env.make("spaces", "One too many").await;
    let r = env
        .admin(
            "POST",
            "/admin/incoming-webhooks",
            Some(json!({"title": "Too much", "space_ids": spaces, "course_ids": courses, "remove_course_ids": [more]})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("remove_course_ids"), "{}", r.text);
    let mut wide = field_map.clone();
    wide.insert("f20".into(), json!("meta_20"));
    let r = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{wid}"),
            Some(json!({"field_map": wide})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("field_map"), "{}", r.text);
}

/// Issue 9 item 4: a batch that is re-sent but never fanned out is not re-sent forever. Each
/// re-send is claimed (two sweepers at once send it once), after five it is parked — listed by
/// `GET /admin/outbox`, no longer re-sent — and an operator's redrive sends it again.
#[tokio::test]
async fn an_outbox_batch_never_fanned_out_is_parked_then_redriven() {
    let stack = Stack::create().await;
    let mut broken = stack.config();
    broken.queue_url = format!("{}/123456789012/no-such-queue", stack.endpoint);
    let env = TestEnv::on(stack.clone(), broken).await;
    let (_, key) = env.webhook(json!({"title": "T"})).await;
    let r = env
        .post_form(&key, &[("email", "parked@example.com")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let waiting = env.admin("GET", "/admin/outbox", None).await;
    assert_eq!(waiting.status, 200, "{}", waiting.text);
    let n = waiting.body["waiting"].as_u64().unwrap();
    assert!(n >= 1, "{}", waiting.text);
    assert_eq!(waiting.body["parked"], json!([]));

    let mut cfg = stack.config();
    cfg.outbox_grace_seconds = -5;
    let sweeper = TestEnv::on(stack.clone(), cfg).await;
    let (a, b) = tokio::join!(sweeper.app.outbox().sweep(), sweeper.app.outbox().sweep());
    assert_eq!(a.unwrap() + b.unwrap(), n as usize, "one re-send per batch");
    for _ in 0..4 {
        assert_eq!(sweeper.app.outbox().sweep().await.unwrap(), n as usize);
    }
    // The sixth time it is parked instead, and stays parked.
    assert_eq!(sweeper.app.outbox().sweep().await.unwrap(), 0);
    assert_eq!(sweeper.app.outbox().sweep().await.unwrap(), 0);
    let status = env.admin("GET", "/admin/outbox", None).await;
    let parked = status.body["parked"].as_array().unwrap().clone();
    assert_eq!(parked.len() as u64, n, "{}", status.text);
    assert_eq!(parked[0]["attempts"], 5);
    assert!(
        status.text.contains("incoming_webhook.processed"),
        "{}",
        status.text
    );
    assert_eq!(sweeper.queued().await.len() as u64, 5 * n);

    // Redrive: sent again, no longer parked; a second redrive finds nothing parked.
    let id = parked[0]["batch_id"].as_str().unwrap().to_string();
    let r = sweeper
        .admin("POST", &format!("/admin/outbox/{id}/redrive"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let queued = sweeper.queued().await;
    assert_eq!(queued.len() as u64, 5 * n + 1);
    assert!(queued.iter().any(|b| b["batch_id"] == id.as_str()));
    let r = sweeper
        .admin("POST", &format!("/admin/outbox/{id}/redrive"), None)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let status = env.admin("GET", "/admin/outbox", None).await;
    assert_eq!(
        status.body["parked"].as_array().unwrap().len() as u64,
        n - 1
    );
    let r = sweeper
        .admin("POST", "/admin/outbox/not-a-batch/redrive", None)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}
