//! The delivery engine (docs/reference/outgoing.md#the-delivery,
//! docs/reference/outgoing.md#fifo-endpoints): FIFO ordering, recover, operator notices, lost
//! retries and the sweeper — against moto and real HTTP receivers on loopback.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard_tests::fixtures::{endpoint_id as endpoint, receiver};
use switchboard_tests::TestEnv;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A receiver that answers `status` to its first `n` requests, then 200.
async fn failing_first(n: u64, status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status))
        .up_to_n_times(n)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// The bodies a receiver got, parsed.
async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

fn retry(wid: i64, did: &str, attempt: u32) -> String {
    json!({"retry": {"webhook_id": wid, "delivery_id": did, "attempt": attempt, "not_before": 0}})
        .to_string()
}

async fn delivery_of(env: &TestEnv, wid: i64, status: &str) -> Vec<Value> {
    let r = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/deliveries?status={status}&per_page=100"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["deliveries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn ordering_is_validated_and_shown() {
    let env = TestEnv::new().await;
    let id = endpoint(
        &env,
        "Ordered",
        "https://hooks.example.com/x",
        json!(["*"]),
        json!({"ordering": "fifo"}),
    )
    .await;
    let got = env
        .admin("GET", &format!("/admin/webhooks/{id}"), None)
        .await;
    assert_eq!(got.body["ordering"], "fifo");
    let other = endpoint(
        &env,
        "Plain",
        "https://hooks.example.com/y",
        json!(["*"]),
        json!({}),
    )
    .await;
    let got = env
        .admin("GET", &format!("/admin/webhooks/{other}"), None)
        .await;
    assert_eq!(got.body["ordering"], "none", "the default");
    for bad in [json!("lifo"), json!(1), json!(true)] {
        let r = env
            .admin(
                "PUT",
                &format!("/admin/webhooks/{id}"),
                Some(json!({"ordering": bad})),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["code"], "invalid_param");
        assert!(r.text.contains("ordering"), "{}", r.text);
    }
}

#[tokio::test]
async fn a_fifo_endpoint_receives_in_publish_order_while_one_fails_twice() {
    let env = TestEnv::with(|c| c.fifo_settle_ms = 0).await;
    let ordered = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"data": {"n": 10}})))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&ordered)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&ordered)
        .await;
    let plain = receiver(200).await;
    let fid = endpoint(
        &env,
        "Ordered",
        &ordered.uri(),
        json!(["feed.created"]),
        json!({"ordering": "fifo", "retry_count": 3}),
    )
    .await;
    endpoint(
        &env,
        "Plain",
        &plain.uri(),
        json!(["feed.created"]),
        json!({}),
    )
    .await;
    for n in 1..=50 {
        env.publish(json!({"event": "feed.created", "data": {"n": n}}))
            .await;
    }
    env.pump().await;

    // The plain endpoint is not held up by the FIFO line.
    assert_eq!(bodies(&plain).await.len(), 50);
    let ns = |b: &[Value]| {
        b.iter()
            .map(|v| v["data"]["n"].as_i64().unwrap_or(-1))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ns(&bodies(&ordered).await),
        (1..=10).collect::<Vec<_>>(),
        "the line waits at 10"
    );
    let pending = delivery_of(&env, fid, "pending").await;
    assert_eq!(
        pending.len(),
        41,
        "10 waits for its retry, 11..50 wait in line"
    );
    let head = delivery_of(&env, fid, "pending")
        .await
        .into_iter()
        .find(|d| d["attempts"] == 1)
        .expect("the failed head");
    let did = head["id"].as_str().unwrap_or_default().to_string();

    // Its retries come back (played now instead of after 1 and 5 minutes).
    env.app
        .deliveries()
        .handle_message(&retry(fid, &did, 2))
        .await
        .unwrap();
    env.pump().await;
    assert_eq!(
        bodies(&ordered).await.len(),
        11,
        "still failing: the line holds"
    );
    env.app
        .deliveries()
        .handle_message(&retry(fid, &did, 3))
        .await
        .unwrap();
    env.pump().await;

    let mut expected: Vec<i64> = (1..=10).collect();
    expected.extend([10, 10]);
    expected.extend(11..=50);
    assert_eq!(ns(&bodies(&ordered).await), expected);
    assert!(delivery_of(&env, fid, "pending").await.is_empty());
    assert_eq!(delivery_of(&env, fid, "success").await.len(), 50);
    let ids: std::collections::BTreeSet<String> = bodies(&ordered)
        .await
        .iter()
        .filter(|b| b["data"]["n"] == 10)
        .map(|b| b["delivery_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "the same delivery id on every attempt");
}

#[tokio::test]
async fn a_disabled_endpoint_tells_the_operator_once_and_recovery_is_announced() {
    let env = TestEnv::new().await;
    let watcher = receiver(200).await;
    endpoint(
        &env,
        "Watcher",
        &watcher.uri(),
        json!(["endpoint.*"]),
        json!({}),
    )
    .await;
    // Five failed deliveries in a row disable it; after that it answers 200.
    let flaky = failing_first(5, 500).await;
    let name = format!(
        "Orders {}",
        std::process::id() as u64 * 1000 + rand_suffix()
    );
    let bid = endpoint(
        &env,
        &name,
        &flaky.uri(),
        json!(["feed.created"]),
        json!({"retry_count": 0}),
    )
    .await;
    for n in 0..7 {
        env.publish(json!({"event": "feed.created", "data": {"n": n}}))
            .await;
        env.pump().await;
    }
    let b = env
        .admin("GET", &format!("/admin/webhooks/{bid}"), None)
        .await;
    assert_eq!(b.body["status"], "failed");
    assert_eq!(flaky.received_requests().await.unwrap().len(), 5);

    let mine = |mail: &[Value]| {
        mail.iter()
            .filter(|m| m.to_string().contains(&name))
            .cloned()
            .collect::<Vec<_>>()
    };
    let mail = mine(&env.stack.sent_mail().await);
    assert_eq!(mail.len(), 1, "exactly one email: {mail:?}");
    let text = mail[0].to_string();
    assert!(text.contains("operator@example.com"), "{text}");
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(text.contains(&format!("#/outgoing/{bid}")), "{text}");

    let seen = bodies(&watcher).await;
    let disabled: Vec<&Value> = seen
        .iter()
        .filter(|b| b["event"] == "endpoint.disabled")
        .collect();
    assert_eq!(disabled.len(), 1, "{seen:?}");
    assert_eq!(disabled[0]["data"]["webhook_id"], bid);
    assert_eq!(disabled[0]["data"]["name"], name.as_str());
    assert_eq!(disabled[0]["data"]["last_error"], "HTTP 500");

    // Replaying every queue message again changes nothing (no second email, no second event).
    let replay = env.app.outbox().sweep().await.unwrap();
    env.pump().await;
    assert_eq!(replay, 0);
    assert_eq!(mine(&env.stack.sent_mail().await).len(), 1);

    // Re-activated, its next success announces the recovery once.
    let re = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{bid}"),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(re.status, 200, "{}", re.text);
    for n in 0..2 {
        env.publish(json!({"event": "feed.created", "data": {"again": n}}))
            .await;
        env.pump().await;
    }
    env.pump().await;
    let seen = bodies(&watcher).await;
    let recovered: Vec<&Value> = seen
        .iter()
        .filter(|b| b["event"] == "endpoint.recovered")
        .collect();
    assert_eq!(recovered.len(), 1, "{seen:?}");
    assert_eq!(recovered[0]["data"]["webhook_id"], bid);
    let catalog = env.admin("GET", "/admin/event-types", None).await;
    assert!(
        catalog.text.contains("endpoint.disabled") && catalog.text.contains("endpoint.recovered")
    );
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0)
}

#[tokio::test]
async fn a_gone_endpoint_is_announced_once() {
    let env = TestEnv::new().await;
    let watcher = receiver(200).await;
    endpoint(
        &env,
        "Watcher",
        &watcher.uri(),
        json!(["endpoint.disabled"]),
        json!({}),
    )
    .await;
    let gone = receiver(410).await;
    let gid = endpoint(&env, "Gone", &gone.uri(), json!(["feed.*"]), json!({})).await;
    // Two deliveries both see 410 (the second was fanned out before the first disabled it at
    // worst): one disable, one event.
    env.publish(json!({"event": "feed.created"})).await;
    env.publish(json!({"event": "feed.updated"})).await;
    env.pump().await;
    env.pump().await;
    let events: Vec<Value> = bodies(&watcher).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["data"]["webhook_id"], gid);
    assert!(events[0]["data"]["last_error"]
        .as_str()
        .unwrap_or_default()
        .contains("410"));
}

/// A recover job counts its failed deliveries up to a cap (here lowered through the parameter):
/// beyond it the count is the cap and says it is a lower bound.
#[tokio::test]
async fn recover_counts_failed_deliveries_up_to_a_cap() {
    let env = TestEnv::new().await;
    let rx = failing_first(100, 500).await;
    let wid = endpoint(
        &env,
        "Capped",
        &rx.uri(),
        json!(["feed.created"]),
        json!({"retry_count": 0}),
    )
    .await;
    for n in 1..=3 {
        env.publish(json!({"event": "feed.created", "data": {"n": n}}))
            .await;
        env.pump().await;
    }
    assert_eq!(delivery_of(&env, wid, "failed").await.len(), 3);
    let repo = &env.app.store_for_tests().deliveries;
    let after = "0".repeat(26);
    for (cap, want) in [
        (1, (1, true)),
        (2, (2, true)),
        (3, (3, false)),
        (10, (3, false)),
    ] {
        let got = repo.failed_after_count(wid, &after, cap).await.unwrap();
        assert_eq!(got, want, "cap {cap}");
    }
}

#[tokio::test]
async fn recover_resends_exactly_the_failed_deliveries_since() {
    let env = TestEnv::new().await;
    // Requests 1-3 fail, then everything succeeds.
    let rx = failing_first(3, 500).await;
    let wid = endpoint(
        &env,
        "Recover",
        &rx.uri(),
        json!(["feed.created"]),
        json!({"retry_count": 0}),
    )
    .await;
    env.publish(json!({"event": "feed.created", "data": {"n": 1}}))
        .await;
    env.pump().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let since = jiff::Timestamp::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    for n in 2..=4 {
        env.publish(json!({"event": "feed.created", "data": {"n": n}}))
            .await;
        env.pump().await;
    }
    assert_eq!(delivery_of(&env, wid, "failed").await.len(), 3);
    assert_eq!(delivery_of(&env, wid, "success").await.len(), 1);

    for bad in [
        json!({}),
        json!({"since": "yesterday"}),
        json!({"since": 5}),
    ] {
        let r = env
            .admin("POST", &format!("/admin/webhooks/{wid}/recover"), Some(bad))
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["code"], "invalid_param");
        assert!(r.text.contains("since"));
    }
    let r = env
        .admin(
            "POST",
            "/admin/webhooks/999999/recover",
            Some(json!({"since": since.to_string()})),
        )
        .await;
    assert_eq!(r.status, 404);

    let r = env
        .admin(
            "POST",
            &format!("/admin/webhooks/{wid}/recover"),
            Some(json!({"since": since.to_string()})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["status"], "running");
    let rid = r.body["recover_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    env.pump().await;
    let job = env
        .admin("GET", &format!("/admin/webhooks/{wid}/recover/{rid}"), None)
        .await;
    assert_eq!(job.status, 200, "{}", job.text);
    assert_eq!(job.body["status"], "done");
    assert_eq!(job.body["total"], 2);
    assert_eq!(job.body["attempted"], 2);

    // Exactly events 2 and 3 were sent again, with their delivery ids; event 1 stays failed.
    let all = bodies(&rx).await;
    let ns: Vec<i64> = all
        .iter()
        .map(|b| b["data"]["n"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(ns.len(), 6, "{ns:?}");
    let mut resent = ns[4..].to_vec();
    resent.sort();
    assert_eq!(resent, vec![2, 3]);
    assert_eq!(
        all[4]["delivery_id"],
        all[ns.iter().position(|n| *n == ns[4]).unwrap()]["delivery_id"]
    );
    let failed = delivery_of(&env, wid, "failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(delivery_of(&env, wid, "success").await.len(), 3);
    let missing = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/recover/01HQ3Z9X4K8M2N5P7R9T1V3W5Y"),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_retry_whose_follow_up_was_lost_is_scheduled_again() {
    let env = TestEnv::new().await;
    let rx = receiver(500).await;
    let wid = endpoint(
        &env,
        "Lost",
        &rx.uri(),
        json!(["feed.created"]),
        json!({"retry_count": 3}),
    )
    .await;
    env.publish(json!({"event": "feed.created"})).await;
    env.pump().await;
    let did = delivery_of(&env, wid, "pending").await[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // Attempt 2 is recorded, then the queue fails: the message returns to the queue.
    let mut broken_config = env.stack.config();
    let nowhere = format!("{}/123456789012/no-such-queue", env.stack.endpoint);
    broken_config.queue_url = nowhere.clone();
    broken_config.slow_queue_url = Some(nowhere);
    let broken = TestEnv::on(env.stack.clone(), broken_config).await;
    assert!(broken
        .app
        .deliveries()
        .handle_message(&retry(wid, &did, 2))
        .await
        .is_err());
    let d = env
        .app
        .store_for_tests()
        .deliveries
        .get(wid, &did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.total_attempts(), 2);
    assert_eq!(d.status.to_string(), "pending");

    // Its redelivery does not drop it: attempt 3 is scheduled (one SendMessage), nothing re-sent.
    let before = env
        .calls
        .operations()
        .get("sqs:SendMessage")
        .copied()
        .unwrap_or(0);
    env.app
        .deliveries()
        .handle_received(&retry(wid, &did, 2), true)
        .await
        .unwrap();
    let after = env
        .calls
        .operations()
        .get("sqs:SendMessage")
        .copied()
        .unwrap_or(0);
    assert_eq!(after, before + 1);
    assert_eq!(rx.received_requests().await.unwrap().len(), 2);
    // A duplicate that is not a redelivery (e.g. from the sweeper) is dropped.
    env.app
        .deliveries()
        .handle_message(&retry(wid, &did, 2))
        .await
        .unwrap();
    let dropped = env
        .calls
        .operations()
        .get("sqs:SendMessage")
        .copied()
        .unwrap_or(0);
    assert_eq!(dropped, after);
    env.app
        .deliveries()
        .handle_message(&retry(wid, &did, 3))
        .await
        .unwrap();
    assert_eq!(rx.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_sweeper_reschedules_overdue_pending_deliveries() {
    let env = TestEnv::new().await;
    let rx = failing_first(1, 500).await;
    let wid = endpoint(
        &env,
        "Overdue",
        &rx.uri(),
        json!(["feed.created"]),
        json!({}),
    )
    .await;
    env.publish(json!({"event": "feed.created"})).await;
    env.pump().await;
    assert_eq!(
        env.app.deliveries().sweep_deliveries().await.unwrap(),
        0,
        "nothing overdue yet"
    );
    let did = delivery_of(&env, wid, "pending").await[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Its retry message was lost an hour ago.
    let mut d = env
        .app
        .store_for_tests()
        .deliveries
        .get(wid, &did)
        .await
        .unwrap()
        .unwrap();
    let prev = d.total_attempts();
    d.next_attempt_at = Some(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3600));
    assert!(env
        .app
        .store_for_tests()
        .deliveries
        .save(&d, prev)
        .await
        .unwrap());
    assert_eq!(env.app.deliveries().sweep_deliveries().await.unwrap(), 1);
    env.pump().await;
    let d = env
        .app
        .store_for_tests()
        .deliveries
        .get(wid, &did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status.to_string(), "success");
    assert_eq!(d.total_attempts(), 2);
}

/// The sweep judged as if it ran an hour from now (what the chaos run does) finds the pending
/// delivery overdue and schedules it for the clock's now, not for its own future: the retry is
/// visible at once.
#[tokio::test]
async fn a_sweep_judged_ahead_of_the_clock_schedules_for_now() {
    let env = TestEnv::new().await;
    let rx = failing_first(1, 500).await;
    let wid = endpoint(&env, "Ahead", &rx.uri(), json!(["feed.created"]), json!({})).await;
    env.publish(json!({"event": "feed.created"})).await;
    env.pump().await;
    let did = delivery_of(&env, wid, "pending").await[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let later = jiff::Timestamp::now().as_second() + 3600;
    assert_eq!(
        env.app
            .deliveries()
            .sweep_deliveries_at(later)
            .await
            .unwrap(),
        1
    );
    env.pump().await;
    let d = env
        .app
        .store_for_tests()
        .deliveries
        .get(wid, &did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        d.status.to_string(),
        "success",
        "the rescheduled retry ran at once"
    );
}

#[tokio::test]
async fn the_attempt_counter_keeps_growing_past_the_kept_attempts() {
    let env = TestEnv::new().await;
    let rx = receiver(500).await;
    let wid = endpoint(
        &env,
        "Many",
        &rx.uri(),
        json!(["feed.created"]),
        json!({"retry_count": 0}),
    )
    .await;
    env.publish(json!({"event": "feed.created"})).await;
    env.pump().await;
    let did = delivery_of(&env, wid, "failed").await[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for _ in 0..27 {
        let r = env
            .admin(
                "POST",
                &format!("/admin/webhooks/{wid}/deliveries/{did}/redeliver"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let d = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/deliveries/{did}"),
            None,
        )
        .await;
    assert_eq!(d.body["attempts"].as_array().map(Vec::len), Some(25));
    assert_eq!(d.body["attempt_count"], 28);
    assert_eq!(d.body["attempts"][24]["attempt"], 28);
    assert_eq!(rx.received_requests().await.unwrap().len(), 28);
}
