//! The fault matrix (issue 9): every AWS call (DynamoDB, SQS, SES) of an incoming execution (a
//! new member joining a space, with the welcome email), of a fan-out and of an erasure is made
//! to fail in turn — before it is sent, and after AWS applied it (the response lost) — and the
//! retry the caller or SQS makes must complete the work: never a 5xx other than `503`, never a
//! duplicate member or delivery, never a lost event.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering::SeqCst;

use serde_json::{json, Value};
use switchboard_tests::fixtures::{endpoint_id, receiver, woocommerce_order};
use switchboard_tests::{enc, Stack, TestEnv};

fn events_of(batches: &[Value]) -> Vec<Value> {
    batches
        .iter()
        .flat_map(|b| b["events"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn every_failed_call_of_an_execution_leaves_a_state_a_retry_completes() {
    let stack = Stack::create().await;
    let env = TestEnv::on(stack.clone(), stack.config()).await;
    let space = env.make("spaces", "S").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space], "send_wp_welcome_email": true}))
        .await;
    let before = env.calls.total.load(SeqCst);
    let r = env.post_form(&key, &[("email", "clean@example.com")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let calls = env.calls.total.load(SeqCst) - before;
    assert!(calls >= 4, "a new member's execution makes {calls} calls");

    // moto keeps the mail of earlier runs: count what this run adds.
    let mail_before = stack.sent_mail().await;
    let mut emails = Vec::new();
    let mut refused = 0;
    for after in [false, true] {
        for k in 1..=calls {
            let email = format!("fault-{k}-{after}@example.com");
            env.calls.fail_in(k, after);
            let first = env.post_form(&key, &[("email", &email)]).await;
            env.calls.fail_in(0, false);
            assert!(
                matches!(first.status, 200 | 503),
                "call {k} failing (after: {after}): {} {}",
                first.status,
                first.text
            );
            refused += usize::from(first.status == 503);
            let retry = env.post_form(&key, &[("email", &email)]).await;
            assert_eq!(
                retry.status, 200,
                "retry after call {k} (after: {after}): {}",
                retry.text
            );
            let u = env
                .admin("GET", &format!("/admin/users?email={}", enc(&email)), None)
                .await;
            let users = u.body["users"].as_array().cloned().unwrap_or_default();
            assert_eq!(users.len(), 1, "one member ({email}): {}", u.text);
            assert_eq!(users[0]["spaces"][0]["space_id"], space, "{}", u.text);
            emails.push(email);
        }
    }

    assert!(
        refused >= calls,
        "the faults were injected ({refused} calls answered 503)"
    );
    println!(
        "execution: {calls} calls × 2 fault modes, {refused} answered 503, all retries converged"
    );

    // Every member's events left: on the queue, or in the outbox until the sweeper re-sends.
    let mut cfg = stack.config();
    cfg.outbox_grace_seconds = -5;
    TestEnv::on(stack.clone(), cfg)
        .await
        .app
        .outbox()
        .sweep()
        .await
        .unwrap();
    let events = events_of(&env.queued().await);
    for email in &emails {
        assert!(
            events.iter().any(|e| e["event"] == "space.member_joined"
                && e["data"]["user"]["email"] == email.as_str()),
            "space.member_joined for {email} was lost"
        );
    }

    // Every new member's welcome email left: on the request path, or from the welcome sweep once
    // the claim lapsed (at least once; twice only if marking it sent failed after SES took it).
    let later =
        jiff::Timestamp::now().as_second() + switchboard::app::incoming::WELCOME_RETRY_SECONDS + 5;
    env.app.incoming().sweep_welcome_at(later).await.unwrap();
    let mail = stack.sent_mail().await;
    for email in &emails {
        let to = |all: &[serde_json::Value]| {
            all.iter()
                .filter(|m| m.to_string().contains(&format!("{email}\"")))
                .count()
        };
        let n = to(&mail) - to(&mail_before);
        assert!((1..=2).contains(&n), "{n} welcome emails to {email}");
    }
}

#[tokio::test]
async fn every_failed_call_of_a_fan_out_leaves_a_state_a_redelivery_completes() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let wid = endpoint_id(&env, "rx", &rx.uri(), json!(["feed.created"]), json!({})).await;

    // The batch of the n-th event, as SQS would hand it to dispatch.
    let batch_of = |n: usize| {
        let env = &env;
        async move {
            let r = env
                .publish(json!({"event": "feed.created", "data": {"n": n}}))
                .await;
            assert_eq!(r.status, 202);
            env.queued()
                .await
                .into_iter()
                .find(|b| b["events"][0]["data"]["n"] == n)
                .expect("the batch")
                .to_string()
        }
    };
    let clean = batch_of(0).await;
    let before = env.calls.total.load(SeqCst);
    env.app.deliveries().handle_message(&clean).await.unwrap();
    let calls = env.calls.total.load(SeqCst) - before;
    assert!(calls >= 3, "a fan-out makes {calls} calls");

    let mut n = 0;
    let mut failed_first = 0;
    for after in [false, true] {
        for k in 1..=calls {
            n += 1;
            let batch = batch_of(n).await;
            env.calls.fail_in(k, after);
            let first = env.app.deliveries().handle_message(&batch).await;
            env.calls.fail_in(0, false);
            failed_first += usize::from(first.is_err());
            // SQS redelivers what was not acknowledged; an acknowledged batch may come again too.
            env.app
                .deliveries()
                .handle_message(&batch)
                .await
                .unwrap_or_else(|e| {
                    panic!("redelivery after call {k} (after: {after}; first {first:?}): {e}")
                });
        }
    }

    assert!(
        failed_first >= calls,
        "the faults were injected ({failed_first} failed)"
    );
    println!("fan-out: {calls} calls × 2 fault modes, {failed_first} first handlings failed, all redeliveries converged");

    // Every event reached the endpoint, and each has exactly one delivery record, delivered.
    let received: BTreeSet<String> = rx
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter_map(|b| b["data"]["n"].as_u64().map(|n| n.to_string()))
        .collect();
    assert_eq!(received.len(), n + 1, "{received:?}");
    let page = env
        .app
        .store_for_tests()
        .deliveries
        .list(wid, None, &Default::default())
        .await
        .unwrap();
    assert_eq!(page.total, n + 1, "one delivery record per event");
    let failed = env
        .app
        .store_for_tests()
        .deliveries
        .list(
            wid,
            Some(switchboard::domain::delivery::DeliveryStatus::Failed),
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(failed.total, 0);
    let pending = env
        .app
        .store_for_tests()
        .deliveries
        .list(
            wid,
            Some(switchboard::domain::delivery::DeliveryStatus::Pending),
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(pending.total, 0, "no delivery stuck pending");
}

/// One member's world for the erasure matrix: two spaces (a form webhook and a WooCommerce
/// order, so a customer map and an object state), runs, delivered events; and the erasure's
/// calls counted from the `DELETE`. Returns the env, the receiver, the member's id and email.
async fn erasure_world() -> (TestEnv, wiremock::MockServer, i64, &'static str) {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    endpoint_id(&env, "rx", &rx.uri(), json!(["*"]), json!({})).await;
    let (s1, s2) = (
        env.make("spaces", "One").await,
        env.make("spaces", "Shop").await,
    );
    let (_, key) = env
        .webhook(json!({"title": "Join", "space_ids": [s1]}))
        .await;
    let (_, shop) = env
        .webhook(
            json!({"title": "Shop", "source": "woocommerce", "source_secret": "ws",
            "space_ids": [s2]}),
        )
        .await;
    let email = "erase.me@example.com";
    let r = env.post_form(&key, &[("email", email)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user_id = r.body["user_id"].as_i64().unwrap();
    woocommerce_order(&env, &shop, "ws", 77, 7, email).await;
    env.pump().await;
    (env, rx, user_id, email)
}

/// What an erasure leaves: the job's counts, whether any item still names the member, and the
/// `user.deleted` events the subscriber got (after the outbox sweep and the queue are drained).
async fn erasure_end_state(
    env: &TestEnv,
    rx: &wiremock::MockServer,
    user_id: i64,
    email: &str,
) -> Value {
    let mut cfg = env.stack.config();
    cfg.outbox_grace_seconds = -5;
    TestEnv::on(env.stack.clone(), cfg)
        .await
        .app
        .outbox()
        .sweep()
        .await
        .unwrap();
    env.pump().await;
    let job = env
        .admin("DELETE", &format!("/admin/users/{user_id}"), None)
        .await;
    let named = env
        .all_items()
        .await
        .iter()
        .filter(|i| format!("{i:?}").to_lowercase().contains(email))
        .count();
    let deleted: Vec<Value> = rx
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["event"] == "user.deleted")
        .map(|b| b["data"].to_string())
        .collect::<BTreeSet<_>>()
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    json!({"status": job.status, "job": job.body["status"], "counts": job.body["counts"],
        "items_naming_the_member": named, "user_deleted": deleted})
}

#[tokio::test]
async fn every_failed_call_of_an_erasure_leaves_a_state_a_retry_completes() {
    let (env, rx, user_id, email) = erasure_world().await;
    let before = env.calls.total.load(SeqCst);
    let r = env
        .admin("DELETE", &format!("/admin/users/{user_id}"), None)
        .await;
    assert_eq!(
        r.status, 200,
        "the erasure completes within the request: {}",
        r.text
    );
    let calls = env.calls.total.load(SeqCst) - before;
    assert!(calls >= 10, "an erasure makes {calls} calls");
    let clean = erasure_end_state(&env, &rx, user_id, email).await;
    assert_eq!(clean["items_naming_the_member"], 0, "{clean}");
    assert_eq!(
        clean["user_deleted"],
        json!([{"user_id": user_id}]),
        "{clean}"
    );

    let mut failed = 0;
    for after in [false, true] {
        for k in 1..=calls {
            let (env, rx, user_id, email) = erasure_world().await;
            env.calls.fail_in(k, after);
            let first = env
                .admin("DELETE", &format!("/admin/users/{user_id}"), None)
                .await;
            env.calls.fail_in(0, false);
            assert!(
                matches!(first.status, 200 | 202 | 503),
                "call {k} failing (after: {after}): {} {}",
                first.status,
                first.text
            );
            failed += usize::from(first.status != 200);
            // The caller retries (a repeated DELETE continues the same erasure); the queue
            // carries whatever the failed step left to it.
            let retry = env
                .admin("DELETE", &format!("/admin/users/{user_id}"), None)
                .await;
            assert_eq!(
                retry.status, 200,
                "retry after call {k} (after: {after}): {}",
                retry.text
            );
            let end = erasure_end_state(&env, &rx, user_id, email).await;
            assert_eq!(end, clean, "call {k} failing (after: {after})");
        }
    }
    assert!(
        failed >= calls,
        "the faults were injected ({failed} first calls did not finish)"
    );
    println!("erasure: {calls} calls × 2 fault modes, {failed} first DELETEs did not finish, all retries converged");
}

// ------------------------------------------------------------------ the relay -------------

/// How many deliveries `rx` got per `data.n` of the published `feed.created` events.
async fn received_per_n(rx: &wiremock::MockServer) -> std::collections::BTreeMap<i64, usize> {
    let mut out = std::collections::BTreeMap::new();
    for r in rx.received_requests().await.unwrap_or_default() {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let n = body["data"]["n"].as_i64().unwrap_or(-1);
        *out.entry(n).or_default() += 1;
    }
    out
}

/// The relay's `SendMessageBatch` fails — before SQS took it, or after (the response lost):
/// the stream hands the same records again from the failed one, and every event reaches the
/// endpoint exactly once (a batch sent twice is fanned out once).
#[tokio::test]
async fn a_failed_relay_send_is_retried_from_the_stream() {
    for after in [false, true] {
        let env = TestEnv::new().await;
        let rx = receiver(200).await;
        endpoint_id(&env, "rx", &rx.uri(), json!(["feed.created"]), json!({})).await;
        for n in 0..3 {
            env.publish(json!({"event": "feed.created", "data": {"n": n}}))
                .await;
        }
        // The relay's first SQS call is its SendMessageBatch.
        env.calls.fail_in(1, after);
        assert!(env.relay_stream().await >= 3, "after={after}");
        env.calls.fail_in(0, false);
        env.pump().await;
        let got = received_per_n(&rx).await;
        assert_eq!(
            got,
            (0..3).map(|n| (n, 1)).collect(),
            "after={after}: one delivery per event"
        );
    }
}

/// The relay dies in the middle of a batch (it sent the first batch, then the invocation
/// failed without an answer): the mapping bisects and retries, nothing is lost and nothing is
/// delivered twice.
#[tokio::test]
async fn a_relay_killed_mid_batch_loses_nothing() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    endpoint_id(&env, "rx", &rx.uri(), json!(["feed.created"]), json!({})).await;
    let relay = switchboard_tests::bridge::in_process_relay(env.app.clone());
    let killed = Arc::new(AtomicBool::new(false));
    let invoke: switchboard_tests::bridge::StreamInvoke = {
        let killed = killed.clone();
        Arc::new(move |mut event: Value| {
            let (relay, killed) = (relay.clone(), killed.clone());
            Box::pin(async move {
                if !killed.swap(true, SeqCst) {
                    // Only the first record gets through, then the function dies.
                    if let Some(records) = event["Records"].as_array_mut() {
                        records.truncate(1);
                    }
                    relay(event).await;
                    return None;
                }
                relay(event).await
            })
        })
    };
    let poller = switchboard_tests::bridge::StreamPoller::new(
        aws_sdk_dynamodbstreams::Client::new(&switchboard_tests::sdk_config().await),
        env.stack.stream_arn.clone(),
        invoke,
        true,
    );
    poller.discover().await.unwrap();
    for n in 0..4 {
        env.publish(json!({"event": "feed.created", "data": {"n": n}}))
            .await;
    }
    poller.drain(16).await;
    assert!(killed.load(SeqCst), "the kill happened");
    env.pump().await;
    assert_eq!(received_per_n(&rx).await, (0..4).map(|n| (n, 1)).collect());
}

/// SQS is down for a while (every call fails), then back: the stream keeps retrying and the
/// event is delivered well within 2 minutes of SQS returning — nothing waits on a grace period.
#[tokio::test]
async fn an_sqs_outage_is_caught_up_within_two_minutes() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    endpoint_id(&env, "rx", &rx.uri(), json!(["feed.created"]), json!({})).await;
    env.calls.sqs_down.store(true, SeqCst);
    env.publish(json!({"event": "feed.created", "data": {"n": 7}}))
        .await;
    let relaying = tokio::spawn(env.stream.clone().run());
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert!(rx.received_requests().await.unwrap_or_default().is_empty());
    env.calls.sqs_down.store(false, SeqCst);
    let back = std::time::Instant::now();
    loop {
        env.pump_queues().await;
        if !rx.received_requests().await.unwrap_or_default().is_empty() {
            break;
        }
        assert!(
            back.elapsed() < std::time::Duration::from_secs(120),
            "not delivered within 2 minutes of SQS returning"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    relaying.abort();
    println!(
        "SQS outage of 5 s: delivered {:.2} s after SQS returned",
        back.elapsed().as_secs_f64()
    );
    assert_eq!(received_per_n(&rx).await, [(7, 1)].into());
}

/// `dispatch` failed on a batch's message until SQS dead-lettered it (here: the message is
/// taken off the queue), after `relay` had acked the batch: the sweep leaves the acked batch
/// alone while it is recent, and re-sends it once it outlived `ACKED_RESEND_SECONDS`; the event
/// reaches the endpoint once, with no operator's redrive.
#[tokio::test]
async fn a_dead_lettered_acked_batch_is_re_sent_by_the_sweep() {
    use switchboard::app::outbox::ACKED_RESEND_SECONDS;
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    endpoint_id(&env, "rx", &rx.uri(), json!(["feed.created"]), json!({})).await;
    env.publish(json!({"event": "feed.created", "data": {"n": 9}}))
        .await;
    env.relay_stream().await;
    // The message goes where SQS puts it after 5 failed receives: off the event queue.
    assert_eq!(
        env.stack.lose_queue(&env.stack.queue_url).await,
        1,
        "the relay sent the batch"
    );

    let mut cfg = env.stack.config();
    cfg.outbox_grace_seconds = -5;
    let sweeper = TestEnv::on(env.stack.clone(), cfg).await;
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(
        sweeper.app.outbox().sweep_at(now).await.unwrap(),
        0,
        "a batch acked a moment ago is left to its message"
    );
    assert_eq!(
        sweeper
            .app
            .outbox()
            .sweep_at(now + ACKED_RESEND_SECONDS + 5)
            .await
            .unwrap(),
        1,
        "the acked batch still in the outbox an hour later is re-sent"
    );
    env.pump().await;
    assert_eq!(received_per_n(&rx).await, [(9, 1)].into());
}

/// A batch acked a moment ago, parked after five re-sends that never got fanned out, and
/// redriven by an operator whose send is lost: the sweep re-sends it one grace period after the
/// redrive (the index's due time is the item's own, not an hour after the ack).
#[tokio::test]
async fn a_redriven_batch_whose_send_is_lost_is_re_sent_by_the_sweep() {
    let env = TestEnv::with(|c| c.outbox_grace_seconds = -5).await;
    env.publish(json!({"event": "feed.created", "data": {"n": 11}}))
        .await;
    env.relay_stream().await;
    let lost = env.stack.drain_queue(&env.stack.queue_url).await;
    assert_eq!(lost.len(), 1, "the relay sent the batch: {lost:?}");
    let purge = || env.stack.lose_queue(&env.stack.queue_url);
    purge().await;
    // Five re-sends an hour on, none fanned out; the sixth sweep parks the batch.
    let later =
        jiff::Timestamp::now().as_second() + switchboard::app::outbox::ACKED_RESEND_SECONDS + 5;
    for _ in 0..5 {
        assert_eq!(env.app.outbox().sweep_at(later).await.unwrap(), 1);
    }
    assert_eq!(env.app.outbox().sweep_at(later).await.unwrap(), 0);
    let status = env.admin("GET", "/admin/outbox", None).await;
    let parked = status.body["parked"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(parked.len(), 1, "{}", status.text);
    purge().await;
    let id = parked[0]["batch_id"].as_str().unwrap().to_string();
    let r = env
        .admin("POST", &format!("/admin/outbox/{id}/redrive"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    purge().await; // the redrive's send is lost
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(
        env.app.outbox().sweep_at(now + 1).await.unwrap(),
        1,
        "re-sent a grace period after the redrive"
    );
}
