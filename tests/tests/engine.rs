//! The delivery engine's operator controls against moto
//! (docs/reference/outgoing.md#pause-and-throttle): pause that holds.

use serde_json::{json, Value};
use switchboard_tests::fixtures::{endpoint_id, receiver};
use switchboard_tests::TestEnv;

async fn bodies(rx: &wiremock::MockServer) -> Vec<Value> {
    rx.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap_or_default())
        .collect()
}

async fn deliveries(env: &TestEnv, id: i64, status: &str) -> Vec<Value> {
    let r = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{id}/deliveries?status={status}&per_page=100"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["deliveries"].as_array().cloned().unwrap_or_default()
}

async fn set_status(env: &TestEnv, id: i64, status: &str) -> Value {
    let r = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{id}"),
            Some(json!({"status": status})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn ns(bodies: &[Value]) -> Vec<i64> {
    bodies
        .iter()
        .map(|b| b["data"]["n"].as_i64().unwrap_or(-1))
        .collect()
}

#[tokio::test]
async fn a_paused_endpoint_holds_its_deliveries_and_sends_them_on_resume() {
    let env = TestEnv::new().await;
    let (rx, other) = (receiver(200).await, receiver(200).await);
    let id = endpoint_id(
        &env,
        "Paused",
        &rx.uri(),
        json!(["feed.created"]),
        json!({}),
    )
    .await;
    endpoint_id(
        &env,
        "Other",
        &other.uri(),
        json!(["feed.created"]),
        json!({}),
    )
    .await;
    assert_eq!(set_status(&env, id, "paused").await["status"], "paused");
    for n in 1..=3 {
        env.publish(json!({"event": "feed.created", "data": {"n": n}}))
            .await;
    }
    env.pump().await;
    assert!(
        bodies(&rx).await.is_empty(),
        "a paused endpoint receives nothing"
    );
    assert_eq!(bodies(&other).await.len(), 3, "the others are not held");
    assert_eq!(deliveries(&env, id, "held").await.len(), 3);
    let ep = env
        .admin("GET", &format!("/admin/webhooks/{id}"), None)
        .await;
    assert_eq!(ep.body["held"], 3, "{}", ep.text);
    assert_eq!(ep.body["status"], "paused");

    let resumed = set_status(&env, id, "active").await;
    assert_eq!(resumed["status"], "active");
    env.pump().await;
    let mut got = ns(&bodies(&rx).await);
    got.sort_unstable();
    assert_eq!(got, vec![1, 2, 3]);
    assert!(deliveries(&env, id, "held").await.is_empty());
    assert_eq!(deliveries(&env, id, "success").await.len(), 3);
    let ep = env
        .admin("GET", &format!("/admin/webhooks/{id}"), None)
        .await;
    assert!(ep.body.get("held").is_none(), "{}", ep.text);
}

#[tokio::test]
async fn a_paused_fifo_endpoint_sends_its_held_deliveries_in_publish_order() {
    let env = TestEnv::with(|c| c.fifo_settle_ms = 0).await;
    let rx = receiver(200).await;
    let id = endpoint_id(
        &env,
        "Ordered",
        &rx.uri(),
        json!(["feed.created"]),
        json!({"ordering": "fifo"}),
    )
    .await;
    set_status(&env, id, "paused").await;
    for n in 1..=12 {
        env.publish(json!({"event": "feed.created", "data": {"n": n}}))
            .await;
    }
    env.pump().await;
    assert!(bodies(&rx).await.is_empty());
    assert_eq!(deliveries(&env, id, "held").await.len(), 12);
    set_status(&env, id, "active").await;
    env.pump().await;
    assert_eq!(ns(&bodies(&rx).await), (1..=12).collect::<Vec<_>>());
    assert_eq!(deliveries(&env, id, "success").await.len(), 12);
}

#[tokio::test]
async fn a_paused_endpoint_is_never_disabled_and_inactive_keeps_nothing() {
    let env = TestEnv::new().await;
    let gone = receiver(410).await;
    let id = endpoint_id(
        &env,
        "Gone",
        &gone.uri(),
        json!(["feed.created"]),
        json!({}),
    )
    .await;
    set_status(&env, id, "paused").await;
    let r = env
        .admin("POST", &format!("/admin/webhooks/{id}/test"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.pump().await;
    let ep = env
        .admin("GET", &format!("/admin/webhooks/{id}"), None)
        .await;
    assert_eq!(ep.body["status"], "paused", "{}", ep.text);

    // `inactive` keeps today's meaning: nothing delivered, nothing kept.
    let rx = receiver(200).await;
    let off = endpoint_id(&env, "Off", &rx.uri(), json!(["feed.created"]), json!({})).await;
    set_status(&env, off, "inactive").await;
    env.publish(json!({"event": "feed.created", "data": {"n": 1}}))
        .await;
    env.pump().await;
    let log = env
        .admin("GET", &format!("/admin/webhooks/{off}/deliveries"), None)
        .await;
    assert_eq!(log.body["pagination"]["total"], 0, "{}", log.text);

    let bad = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{id}"),
            Some(json!({"status": "asleep"})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.body["code"], "invalid_param");
}

/// Pumps the queues (delayed messages included) until `done` or `limit` passes.
async fn pump_until(env: &TestEnv, limit: std::time::Duration, done: impl AsyncFn() -> bool) {
    let start = std::time::Instant::now();
    while !done().await && start.elapsed() < limit {
        env.pump().await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_throttled_endpoint_receives_at_its_rate_and_costs_the_others_nothing() {
    let env = TestEnv::new().await;
    let (slow, free) = (receiver(200).await, receiver(200).await);
    let throttled = endpoint_id(
        &env,
        "Throttled",
        &slow.uri(),
        json!(["feed.created"]),
        json!({"rate_limit": 2}),
    )
    .await;
    endpoint_id(
        &env,
        "Free",
        &free.uri(),
        json!(["feed.created"]),
        json!({}),
    )
    .await;
    let ep = env
        .admin("GET", &format!("/admin/webhooks/{throttled}"), None)
        .await;
    assert_eq!(ep.body["rate_limit"], 2, "{}", ep.text);
    let started = std::time::Instant::now();
    for n in 1..=12 {
        env.publish(json!({"event": "feed.created", "data": {"n": n}}))
            .await;
    }
    // When the unthrottled endpoint had everything, watched while the queues are pumped.
    let watch_free = async {
        while bodies(&free).await.len() < 12 && started.elapsed().as_secs() < 60 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        started.elapsed()
    };
    let pumping = pump_until(&env, std::time::Duration::from_secs(60), async || {
        bodies(&slow).await.len() >= 12
    });
    let (free_done, ()) = tokio::join!(watch_free, pumping);
    assert_eq!(bodies(&free).await.len(), 12);
    let received = slow.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 12);
    let spread = started.elapsed();
    eprintln!("throttle: unthrottled done after {free_done:?}, 12 at 2/s after {spread:?}");
    assert!(
        spread >= std::time::Duration::from_secs(5),
        "12 at 2/s take at least 5 s: {spread:?}"
    );
    assert!(
        free_done < spread / 2,
        "free {free_done:?} vs throttled {spread:?}"
    );
    let mut got = ns(&bodies(&slow).await);
    got.sort_unstable();
    assert_eq!(got, (1..=12).collect::<Vec<_>>());
    // Waiting is not failing: nothing failed, nothing counted.
    assert!(deliveries(&env, throttled, "failed").await.is_empty());
    let ep = env
        .admin("GET", &format!("/admin/webhooks/{throttled}"), None)
        .await;
    assert_eq!(ep.body["consecutive_failures"], 0);
    assert_eq!(ep.body["status"], "active");

    for bad in [json!(0), json!(1001), json!("fast"), json!(2.5)] {
        let r = env
            .admin(
                "PUT",
                &format!("/admin/webhooks/{throttled}"),
                Some(json!({"rate_limit": bad})),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert!(r.text.contains("rate_limit"), "{}", r.text);
    }
    let r = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{throttled}"),
            Some(json!({"rate_limit": null})),
        )
        .await;
    assert_eq!(r.body["rate_limit"], Value::Null, "{}", r.text);
}
