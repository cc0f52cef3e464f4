//! Trust by scope (docs/reference/outgoing.md#publishing-events "engine events are the engine's",
//! docs/reference/security.md#secrets-by-scope): what a scoped application password sees and may
//! publish, sign-in back-off per name, and the bounds of lists.

use serde_json::{json, Value};
use switchboard_tests::{basic, Resp, TestEnv};

const IP: &str = "198.51.100.20";

async fn app_password(env: &TestEnv, name: &str, scope: &str) -> String {
    let r = env
        .admin(
            "POST",
            "/admin/app-passwords",
            Some(json!({"name": name, "scope": scope})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["password"].as_str().expect("password").to_string()
}

async fn as_app(
    env: &TestEnv,
    user: &str,
    pw: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let auth = basic(user, pw);
    let mut h = vec![("authorization", auth.as_str())];
    if body.is_some() {
        h.push(("content-type", "application/json"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    env.admin_raw(method, path, &h, &body, IP).await
}

fn assert_wp(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["code"], code, "{}", r.text);
    assert_eq!(r.body["data"]["status"], status, "{}", r.text);
}

#[tokio::test]
async fn publish_refuses_engine_events_and_oversized_events() {
    let env = TestEnv::new().await;
    let publish = app_password(&env, "platform", "publish").await;
    for event in [
        "endpoint.disabled",
        "endpoint.recovered",
        "user.deleted",
        "webhook.test",
        "incoming_webhook.processed",
    ] {
        let body = json!({"event": event, "data": {"webhook_id": 1, "reason": "forged"}});
        let r = as_app(
            &env,
            "platform",
            &publish,
            "POST",
            "/admin/events",
            Some(body),
        )
        .await;
        assert_wp(&r, 400, "invalid_webhook_event");
        let r = env
            .admin("POST", "/admin/events", Some(json!({"event": event})))
            .await;
        assert_wp(&r, 400, "invalid_webhook_event");
    }
    // Nothing was stored or queued for the refused events.
    assert!(env.queued().await.is_empty());

    // The whole event counts: a small `data` with a large `xprofile` is refused too.
    let big = "x".repeat(260 * 1024);
    for body in [
        json!({"event": "feed.created", "data": {"body": big}}),
        json!({"event": "feed.created", "data": {}, "xprofile": {"bio": big}}),
        json!({"event": "feed.created", "data": {"a": "x".repeat(130 * 1024)}, "xprofile": {"b": "x".repeat(130 * 1024)}}),
    ] {
        let r = as_app(
            &env,
            "platform",
            &publish,
            "POST",
            "/admin/events",
            Some(body),
        )
        .await;
        assert_wp(&r, 413, "payload_too_large");
    }
    assert!(env.queued().await.is_empty());
    // A platform event within the bound passes.
    let r = env
        .publish(json!({"event": "feed.created", "data": {"a": "x".repeat(100 * 1024)}, "xprofile": {"b": "y".repeat(50 * 1024)}}))
        .await;
    assert!(r.body["event_id"].is_string(), "{}", r.text);
}

#[tokio::test]
async fn sign_in_back_off_counts_per_source_and_name() {
    let env = TestEnv::new().await;
    let reader = app_password(&env, "dashboard", "read").await;
    let free = switchboard::domain::auth::FREE_FAILURES;
    // Name A (the operator) is guessed from IP until it is backed off.
    for i in 0..=free {
        let r = as_app(&env, "admin", "guess", "GET", "/admin/spaces", None).await;
        assert_eq!(r.status, 401, "failure {i}: {}", r.text);
    }
    let r = as_app(&env, "admin", "admin", "GET", "/admin/spaces", None).await;
    assert_wp(&r, 429, "rest_rate_limited");
    // Name B from the same source is not locked, and its valid calls do not clear A.
    for _ in 0..3 {
        let r = as_app(&env, "dashboard", &reader, "GET", "/admin/spaces", None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = as_app(&env, "admin", "admin", "GET", "/admin/spaces", None).await;
        assert_wp(&r, 429, "rest_rate_limited");
    }
    // B's own failures count for B alone: locking B leaves A's count where it was.
    for _ in 0..=free {
        let r = as_app(&env, "dashboard", "sbp_wrong", "GET", "/admin/spaces", None).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let r = as_app(&env, "dashboard", &reader, "GET", "/admin/spaces", None).await;
    assert_wp(&r, 429, "rest_rate_limited");
    // A third name from that source is free.
    let other = app_password(&env, "ops", "admin").await;
    let r = as_app(&env, "ops", &other, "GET", "/admin/spaces", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn field_map_cannot_copy_a_password() {
    let env = TestEnv::new().await;
    for map in [
        json!({"user_pass": "pw"}),
        json!({"user_password": "password"}),
        json!({"plan": "user_pass"}),
    ] {
        let r = env
            .admin(
                "POST",
                "/admin/incoming-webhooks",
                Some(json!({"title": "T", "field_map": map})),
            )
            .await;
        assert_wp(&r, 400, "invalid_param");
        assert!(r.text.contains("field_map"), "{}", r.text);
    }
    let r = env
        .admin(
            "POST",
            "/admin/incoming-webhooks",
            Some(json!({"title": "T", "field_map": {"plan": "plan"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn a_read_password_sees_no_secret_and_admin_sees_them_all() {
    let env = TestEnv::new().await;
    let reader = app_password(&env, "dashboard", "read").await;
    let admin = app_password(&env, "ops", "admin").await;
    let r = env
        .admin(
            "POST",
            "/admin/webhooks",
            Some(json!({"name": "crm", "url": "https://hooks.example.com/in", "events": ["feed.created"],
                "headers": {"Authorization": "Bearer sg-topsecret"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let out_id = r.body["id"].as_i64().unwrap();
    let first = r.body["secret"].as_str().unwrap().to_string();
    let r = env
        .admin(
            "POST",
            &format!("/admin/webhooks/{out_id}/rotate-secret"),
            Some(json!({"overlap_seconds": 3600})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    let r = env
        .admin(
            "POST",
            "/admin/incoming-webhooks",
            Some(json!({"title": "Purchases", "signing_secret": "s".repeat(32)})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let in_id = r.body["id"].as_i64().unwrap();
    let key = r.body["key"].as_str().unwrap().to_string();

    let outgoing_paths = [
        "/admin/webhooks".to_string(),
        format!("/admin/webhooks/{out_id}"),
        "/wp-json/fluent-crm/v2/webhooks".to_string(),
    ];
    let incoming_paths = [
        "/admin/incoming-webhooks".to_string(),
        format!("/admin/incoming-webhooks/{in_id}"),
    ];
    let one = |r: &Resp| -> Value {
        match r.body.get("webhooks") {
            Some(list) => list[0].clone(),
            None => r.body.clone(),
        }
    };
    for path in outgoing_paths.iter().chain(&incoming_paths) {
        let r = as_app(&env, "dashboard", &reader, "GET", path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        for s in [&first, &secret, &key, &"sg-topsecret".to_string()] {
            assert!(
                !r.text.contains(s.as_str()),
                "{path} shows a secret: {}",
                r.text
            );
        }
        let w = one(&r);
        if outgoing_paths.contains(path) {
            assert!(w["secret"].is_null(), "{path}: {w}");
            assert!(w["previous_secret"].is_null(), "{path}: {w}");
            assert_eq!(w["headers"]["Authorization"], "<redacted>", "{path}: {w}");
            assert_eq!(w["name"], "crm");
        } else {
            assert!(w["key"].is_null(), "{path}: {w}");
            assert!(w["webhook_url"].is_null(), "{path}: {w}");
            assert_eq!(w["title"], "Purchases");
        }
        // The operator and an admin password see them as before.
        for r in [
            env.admin("GET", path, None).await,
            as_app(&env, "ops", &admin, "GET", path, None).await,
        ] {
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            let w = one(&r);
            if outgoing_paths.contains(path) {
                assert_eq!(w["secret"], secret.as_str(), "{path}");
                assert_eq!(w["previous_secret"], first.as_str(), "{path}");
                assert_eq!(w["headers"]["Authorization"], "Bearer sg-topsecret");
            } else {
                assert_eq!(w["key"], key.as_str(), "{path}");
                assert!(w["webhook_url"].as_str().unwrap().ends_with(&key));
            }
        }
    }
}

#[tokio::test]
async fn deep_pages_are_refused_and_point_to_the_cursor() {
    let env = TestEnv::new().await;
    for path in [
        "/admin/webhooks?per_page=100&page=101",
        "/admin/spaces?page=1000000",
        "/admin/incoming-webhooks?per_page=50&page=201",
    ] {
        let r = env.admin("GET", path, None).await;
        assert_wp(&r, 400, "invalid_param");
        assert!(r.text.contains("cursor"), "{path}: {}", r.text);
    }
    let r = env
        .admin("GET", "/admin/webhooks?per_page=100&page=100", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A provider call signed as the provider would, with `at` as the scheme's (unsigned) time.
async fn provider_call(
    env: &TestEnv,
    key: &str,
    source: switchboard::domain::incoming::providers::Source,
    secret: &str,
    body: &[u8],
    topic: &str,
    at: i64,
) -> Resp {
    use switchboard::domain::incoming::providers::{sign, Source};
    let id = switchboard::domain::time::new_ulid().to_string();
    let mut h = sign(source, secret, body, at, topic, &id);
    let ct = if source == Source::Gumroad {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    h.push(("content-type".into(), ct.into()));
    let h = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    env.incoming("POST", &format!("/webhook/{key}"), h, body.to_vec())
        .await
}

async fn spaces_of(env: &TestEnv, email: &str) -> Vec<Value> {
    let r = env
        .admin(
            "GET",
            &format!("/admin/users?email={}", switchboard_tests::enc(email)),
            None,
        )
        .await;
    r.body["users"][0]["spaces"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn shopify_and_gumroad_order_by_signed_body_times_and_clamp_the_future() {
    use switchboard::domain::incoming::providers::Source;
    let env = TestEnv::new().await;
    let space = env.make("spaces", "Members").await;
    let future = jiff::Timestamp::now().as_second() + 10 * 365 * 86_400;
    let now = jiff::Timestamp::now().as_second();

    // Shopify: the paid call carries a forged future X-Shopify-Triggered-At (unsigned); the
    // real cancel, signed, comes later in body time and must revoke.
    let (_, key) = env
        .webhook(json!({"title": "shop", "source": "shopify", "source_secret": "shpss_x", "space_ids": [space]}))
        .await;
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/providers/shopify/order-object-as-webhook-body.json");
    let mut order: Value = serde_json::from_slice(&std::fs::read(base).unwrap()).unwrap();
    order["email"] = json!("shop-buyer@example.com");
    let paid = order.to_string().into_bytes();
    let r = provider_call(
        &env,
        &key,
        Source::Shopify,
        "shpss_x",
        &paid,
        "orders/paid",
        future,
    )
    .await;
    assert_eq!(r.body["outcome"], "granted", "{}", r.text);
    order["cancelled_at"] = json!("2008-01-12T10:00:00Z");
    let cancelled = order.to_string().into_bytes();
    let r = provider_call(
        &env,
        &key,
        Source::Shopify,
        "shpss_x",
        &cancelled,
        "orders/cancelled",
        now,
    )
    .await;
    assert_eq!(r.body["outcome"], "revoked", "{}", r.text);
    assert!(spaces_of(&env, "shop-buyer@example.com").await.is_empty());
    // Replaying the signed paid body under new headers (a later time, a new id) changes nothing.
    let r = provider_call(
        &env,
        &key,
        Source::Shopify,
        "shpss_x",
        &paid,
        "orders/paid",
        future + 60,
    )
    .await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    assert!(spaces_of(&env, "shop-buyer@example.com").await.is_empty());

    // Gumroad: a sale whose body claims a future time is clamped to now, so the refund that
    // follows still revokes.
    let (_, key) = env
        .webhook(
            json!({"title": "gum", "source": "gumroad", "source_secret": "", "space_ids": [space]}),
        )
        .await;
    let sale = |kind: &str, at: &str| {
        format!("resource_name={kind}&sale_id=S-77&email=gum-buyer%40example.com&full_name=Gus+Grant&product_id=P1&sale_timestamp={at}")
            .into_bytes()
    };
    let far = jiff::Timestamp::from_second(future).unwrap().to_string();
    let r = provider_call(
        &env,
        &key,
        Source::Gumroad,
        "",
        &sale("sale", &far),
        "",
        now,
    )
    .await;
    assert_eq!(r.body["outcome"], "granted", "{}", r.text);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = jiff::Timestamp::now().to_string();
    let r = provider_call(
        &env,
        &key,
        Source::Gumroad,
        "",
        &sale("refund", &later),
        "",
        now,
    )
    .await;
    assert_eq!(r.body["outcome"], "revoked", "{}", r.text);
    assert!(spaces_of(&env, "gum-buyer@example.com").await.is_empty());
}

/// `count` outbox batches of `shard` written straight to the table, parked or not.
async fn put_batches(
    env: &TestEnv,
    shard: u32,
    count: usize,
    parked: bool,
) -> Vec<switchboard::domain::events::EventBatch> {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    use switchboard::domain::events::EventBatch;
    let mut batches = Vec::new();
    while batches.len() < count {
        let b = EventBatch::new(vec![]);
        if b.shard == shard {
            batches.push(b);
        }
    }
    let s = |v: &str| AttributeValue::S(v.into());
    let n = |v: i64| AttributeValue::N(v.to_string());
    let (client, table) = env.app.store_for_tests().table.client();
    for chunk in batches.chunks(25) {
        let writes = chunk
            .iter()
            .map(|b| {
                let mut item: std::collections::HashMap<String, AttributeValue> = [
                    ("pk", s(&format!("OUTBOX#{shard}"))),
                    ("sk", s(&b.batch_id)),
                    ("body", s(&serde_json::to_string(b).unwrap())),
                    ("created_at", n(1_700_000_000)),
                    ("attempts", n(if parked { 5 } else { 1 })),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                if parked {
                    item.insert("parked".into(), AttributeValue::Bool(true));
                }
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        client
            .batch_write_item()
            .request_items(table, writes)
            .send()
            .await
            .unwrap();
    }
    batches
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["batch_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_outbox_status_reads_a_bounded_number_of_batches() {
    let env = TestEnv::new().await;
    // 130 parked batches in one shard: more than one request reads of it.
    put_batches(&env, 0, 130, true).await;
    let before = env.calls.snapshot().0;
    let r = env.admin("GET", "/admin/outbox", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let read = env.calls.snapshot().0 - before;
    let per_shard = switchboard::app::outbox::STATUS_PER_SHARD as u64;
    assert_eq!(r.body["waiting"], per_shard, "{}", r.text);
    assert_eq!(r.body["more"], true);
    assert_eq!(r.body["parked"].as_array().unwrap().len() as u64, per_shard);
    assert!(read <= 8 + 2, "one query per shard (+ sign-in): {read}");
}

/// Issue 19 item 12: `GET /admin/outbox?cursor=` walks every batch, one bounded page at a time.
#[tokio::test]
async fn the_outbox_is_walked_to_its_end_with_the_cursor() {
    let env = TestEnv::new().await;
    let mut parked: Vec<String> = put_batches(&env, 0, 130, true)
        .await
        .into_iter()
        .chain(put_batches(&env, 3, 5, true).await)
        .map(|b| b.batch_id)
        .collect();
    put_batches(&env, 5, 4, false).await;
    let per_shard = switchboard::app::outbox::STATUS_PER_SHARD as u64;

    let first = env.admin("GET", "/admin/outbox", None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["waiting"], per_shard + 5 + 4, "{}", first.text);
    assert_eq!(first.body["more"], true);
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_string();

    let before = env.calls.snapshot().0;
    let second = env
        .admin("GET", &format!("/admin/outbox?cursor={cursor}"), None)
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    // Only shard 0 was left: one query.
    assert!(env.calls.snapshot().0 - before <= 1 + 2, "one query");
    assert_eq!(second.body["waiting"], 130 - per_shard, "{}", second.text);
    assert_eq!(second.body["more"], false);
    assert_eq!(second.body["next_cursor"], Value::Null);

    let mut seen = ids(&first.body, "parked");
    seen.extend(ids(&second.body, "parked"));
    seen.sort();
    parked.sort();
    assert_eq!(seen, parked, "every parked batch once");

    for bad in ["nope", "W10", &cursor[1..]] {
        let r = env
            .admin("GET", &format!("/admin/outbox?cursor={bad}"), None)
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.body["code"], "invalid_param", "{}", r.text);
        assert!(r.text.contains("cursor"), "{}", r.text);
    }
}

/// Issue 20 item 1: parked (and acked) batches are off the sweeper's index, so however many of
/// them sit in a shard, the sweep's bounded page still reaches the batch the stream never
/// sent. (With the page read from the table and filtered afterwards, the first 100 parked
/// batches of each shard filled it and the sweep found nothing.)
#[tokio::test]
async fn the_sweep_reaches_a_due_batch_behind_many_parked_ones() {
    let env = TestEnv::with(|c| c.outbox_grace_seconds = -5).await;
    let per_shard = switchboard::app::outbox::SWEEP_LIMIT_PER_SHARD as usize + 10;
    for shard in 0..switchboard::domain::events::OUTBOX_SHARDS {
        put_batches(&env, shard, per_shard, true).await;
    }
    env.publish(json!({"event": "feed.created", "data": {"marker": "behind-parked"}}))
        .await;
    // The stream is not relayed here: the batch was never sent, only the sweep can send it.
    assert_eq!(env.app.outbox().sweep().await.unwrap(), 1);
    let queued = env.stack.drain_queue(&env.stack.queue_url).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert!(
        queued[0].to_string().contains("behind-parked"),
        "{queued:?}"
    );
    // The parked batches stay parked (not re-sent, still listed).
    let status = env.admin("GET", "/admin/outbox", None).await;
    assert_eq!(status.status, 200, "{}", status.text);
    assert!(!status.body["parked"].as_array().unwrap().is_empty());
}

/// Issue 20 item 1: `POST /admin/outbox/redrive` redrives parked batches in bounded bulk, each
/// once however many calls race, and says whether more remain.
#[tokio::test]
async fn parked_batches_are_redriven_in_bulk_once_each() {
    let env = TestEnv::new().await;
    let mut parked: Vec<String> = put_batches(&env, 0, 130, true)
        .await
        .into_iter()
        .chain(put_batches(&env, 2, 3, true).await)
        .map(|b| b.batch_id)
        .collect();
    parked.sort();
    let waiting: Vec<String> = put_batches(&env, 1, 2, false)
        .await
        .into_iter()
        .map(|b| b.batch_id)
        .collect();
    // The stream hands every new batch to the queue once.
    env.relay_stream().await;

    for bad in [
        json!({"limit": 0}),
        json!({"limit": 101}),
        json!({"limit": "5"}),
    ] {
        let r = env.admin("POST", "/admin/outbox/redrive", Some(bad)).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.text.contains("limit"), "{}", r.text);
    }
    let r = env
        .admin(
            "POST",
            "/admin/outbox/redrive",
            Some(json!({"cursor": "nope"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);

    // Two calls at once: each batch is redriven by one of them (the second may read after the
    // first redrove some, and take the next ones).
    let body = || Some(json!({"limit": 50}));
    let (a, b) = tokio::join!(
        env.admin("POST", "/admin/outbox/redrive", body()),
        env.admin("POST", "/admin/outbox/redrive", body())
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(b.status, 200, "{}", b.text);
    let first = a.body["redriven"].as_u64().unwrap() + b.body["redriven"].as_u64().unwrap();
    assert!((50..=100).contains(&first), "{} {}", a.text, b.text);
    assert_eq!(a.body["more"], true);
    let mut total = first;
    let mut cursor = a.body["next_cursor"].clone();
    let mut calls = 0;
    loop {
        let r = env
            .admin(
                "POST",
                "/admin/outbox/redrive",
                Some(json!({"cursor": cursor})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        total += r.body["redriven"].as_u64().unwrap();
        calls += 1;
        if r.body["more"] == false {
            assert_eq!(r.body["next_cursor"], Value::Null);
            break;
        }
        cursor = r.body["next_cursor"].clone();
        assert!(calls < 5, "{}", r.text);
    }
    assert_eq!(total, parked.len() as u64);

    // Sent once each by the redrive (the stream leaves a batch inserted parked alone); the
    // waiting batches not again.
    let queued = env.queued().await;
    let sends = |id: &str| queued.iter().filter(|b| b["batch_id"] == id).count();
    for id in &parked {
        assert_eq!(sends(id), 1, "{id}");
    }
    for id in &waiting {
        assert_eq!(sends(id), 1, "{id}");
    }
    let status = env.admin("GET", "/admin/outbox", None).await;
    assert_eq!(status.body["parked"], json!([]), "{}", status.text);
    let again = env.admin("POST", "/admin/outbox/redrive", None).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["redriven"], 0);
    // `more` says whether batches are left to read (a shard may hold over a page of waiting
    // ones), not whether any is parked: then it comes with the cursor to go on.
    assert_eq!(
        again.body["more"] == true,
        !again.body["next_cursor"].is_null(),
        "{}",
        again.text
    );
}
