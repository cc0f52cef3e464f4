//! The welcome email through its marker (docs/reference/incoming.md#the-welcome-email): owed in
//! the execution's transaction, sent once on the request path, and sent by the welcome sweep
//! when the request path did not (SES failing, or the function "dying" before the send) —
//! exactly once, however often the sweep runs; a replay never says `sent` for an email not sent.

use std::sync::atomic::Ordering::SeqCst;

use serde_json::json;
use switchboard::app::incoming::WELCOME_RETRY_SECONDS;
use switchboard_tests::{Resp, TestEnv};

async fn mails_to(env: &TestEnv, email: &str) -> usize {
    env.stack
        .sent_mail()
        .await
        .iter()
        .filter(|m| m.to_string().contains(email))
        .count()
}

async fn join(env: &TestEnv, key: &str, email: &str, idem: &str) -> Resp {
    env.incoming(
        "POST",
        &format!("/webhook/{key}"),
        vec![
            ("content-type", "application/x-www-form-urlencoded"),
            ("idempotency-key", idem),
        ],
        format!("email={}", switchboard_tests::enc(email)).into_bytes(),
    )
    .await
}

/// An address no earlier run used (moto keeps the mail of every run).
fn unique(name: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{n}@example.com")
}

fn later() -> i64 {
    jiff::Timestamp::now().as_second() + WELCOME_RETRY_SECONDS + 5
}

/// A webhook with the welcome email, and the number of AWS calls a new member's execution makes
/// on it once its key is known (the last three: claim, SES send, mark sent).
async fn setup(env: &TestEnv) -> (String, usize) {
    let space = env.make("spaces", "S").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space], "send_wp_welcome_email": true}))
        .await;
    let warm = join(env, &key, &unique("warm"), "warm").await;
    assert_eq!(warm.body["welcome_email"], "sent", "{}", warm.text);
    let before = env.calls.total.load(SeqCst);
    let r = join(env, &key, &unique("count"), "count").await;
    assert_eq!(r.body["welcome_email"], "sent", "{}", r.text);
    (key, env.calls.total.load(SeqCst) - before)
}

#[tokio::test]
async fn sent_once_on_the_request_path_and_the_sweep_sends_nothing_more() {
    let env = TestEnv::new().await;
    let (key, _) = setup(&env).await;
    let once = &unique("once");
    let r = join(&env, &key, once, "once").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["welcome_email"], "sent");
    assert_eq!(mails_to(&env, once).await, 1);

    assert_eq!(
        env.app.incoming().sweep_welcome_at(later()).await.unwrap(),
        0
    );
    assert_eq!(env.app.incoming().sweep_welcome().await.unwrap(), 0);
    let again = join(&env, &key, once, "once").await;
    assert_eq!(again.body, r.body, "the replay answers the stored reply");
    assert_eq!(mails_to(&env, once).await, 1);
}

#[tokio::test]
async fn ses_failing_on_the_request_path_is_sent_once_by_the_sweep() {
    let env = TestEnv::new().await;
    let (key, calls) = setup(&env).await;
    let ses_down = &unique("ses-down");
    // The SES send is the second-to-last call.
    env.calls.fail_in(calls - 1, false);
    let r = join(&env, &key, ses_down, "ses-down").await;
    env.calls.fail_in(0, false);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["welcome_email"], "failed", "{}", r.text);
    assert_eq!(mails_to(&env, ses_down).await, 0);
    let replay = join(&env, &key, ses_down, "ses-down").await;
    assert_eq!(
        replay.body["welcome_email"], "failed",
        "not sent: {}",
        replay.text
    );

    // The claim holds for the delay: a sweep now leaves it alone.
    assert_eq!(env.app.incoming().sweep_welcome().await.unwrap(), 0);
    let t = later();
    let (a, b) = tokio::join!(
        env.app.incoming().sweep_welcome_at(t),
        env.app.incoming().sweep_welcome_at(t)
    );
    assert_eq!(
        a.unwrap() + b.unwrap(),
        1,
        "two concurrent sweeps send once"
    );
    assert_eq!(
        env.app.incoming().sweep_welcome_at(t + 3600).await.unwrap(),
        0
    );
    assert_eq!(mails_to(&env, ses_down).await, 1);
    let replay = join(&env, &key, ses_down, "ses-down").await;
    assert_eq!(replay.body["welcome_email"], "sent", "{}", replay.text);
}

#[tokio::test]
async fn a_function_dying_after_the_commit_leaves_the_email_to_the_sweep() {
    let env = TestEnv::new().await;
    let (key, calls) = setup(&env).await;
    let died = &unique("died");
    // The claim right after the commit fails: as if the function died there.
    env.calls.fail_in(calls - 2, false);
    let r = join(&env, &key, died, "died").await;
    env.calls.fail_in(0, false);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["welcome_email"], "failed", "{}", r.text);
    let (_, _, ses_before) = env.calls.snapshot();
    assert_eq!(mails_to(&env, died).await, 0);

    assert_eq!(
        env.app.incoming().sweep_welcome().await.unwrap(),
        0,
        "not due yet"
    );
    let t = later();
    assert_eq!(env.app.incoming().sweep_welcome_at(t).await.unwrap(), 1);
    assert_eq!(env.app.incoming().sweep_welcome_at(t).await.unwrap(), 0);
    assert_eq!(
        env.app.incoming().sweep_welcome_at(t + 3600).await.unwrap(),
        0
    );
    assert_eq!(mails_to(&env, died).await, 1);
    let (_, _, ses_after) = env.calls.snapshot();
    assert_eq!(ses_after - ses_before, 1, "one SES send in all");
    // The scheduled sweeps include it and report it.
    let report = env.app.scheduled_sweeps().await;
    assert_eq!(report.welcomed, Some(0));
}
