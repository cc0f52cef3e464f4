//! The fault matrix (issue 9): every AWS call (DynamoDB, SQS, SES) of an incoming execution (a
//! new member joining a space, with the welcome email) and of a fan-out is made
//! to fail in turn — before it is sent, and after AWS applied it (the response lost) — and the
//! retry the caller or SQS makes must complete the work: never a 5xx other than `503`, never a
//! duplicate member or delivery, never a lost event.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering::SeqCst;

use serde_json::{json, Value};
use switchboard_tests::fixtures::{endpoint_id, receiver};
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
