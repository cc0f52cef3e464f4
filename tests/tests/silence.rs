//! Silence alerts (docs/reference/incoming.md#silence-alerts): an incoming webhook with
//! `expect_every_hours` that got no accepted call for that long emails the operator once and emits
//! `incoming_webhook.silent`; the next accepted call is announced once with
//! `incoming_webhook.resumed`.

use serde_json::{json, Value};
use switchboard::domain::time;
use switchboard_tests::TestEnv;

fn hours_later(h: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(time::now().as_second() + h * 3600).expect("time")
}

/// The events of every batch waiting on the queue, with the given name.
async fn queued_events(env: &TestEnv, name: &str) -> Vec<Value> {
    env.queued()
        .await
        .iter()
        .flat_map(|b| b["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["event"] == name)
        .collect()
}

async fn mail_about(env: &TestEnv, title: &str) -> Vec<Value> {
    env.stack
        .sent_mail()
        .await
        .into_iter()
        .filter(|m| m.to_string().contains(title))
        .collect()
}

#[tokio::test]
async fn a_silent_webhook_alerts_once_and_its_resumption_is_announced() {
    let env = TestEnv::new().await;
    let title = format!("Stripe purchases {}", time::new_ulid());
    let (id, key) = env
        .webhook(json!({"title": title, "expect_every_hours": 1}))
        .await;
    let r = env.post_form(&key, &[("email", "buyer@example.com")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.pump().await;
    let w = env
        .admin("GET", &format!("/admin/incoming-webhooks/{id}"), None)
        .await;
    assert_eq!(w.body["expect_every_hours"], 1);
    let last_call = w.body["last_run_at"]
        .as_str()
        .expect("last_run_at")
        .to_string();

    // Not silent yet.
    let now = env.app.incoming().sweep_silence().await.unwrap();
    assert_eq!((now.silent, now.resumed), (0, 0));

    // Two hours later: one alert, even from two sweeps at once.
    let later = hours_later(2);
    let (a, b) = tokio::join!(
        env.app.incoming().sweep_silence_at(later),
        env.app.incoming().sweep_silence_at(later)
    );
    assert_eq!(a.unwrap().silent + b.unwrap().silent, 1);
    let silent = queued_events(&env, "incoming_webhook.silent").await;
    assert_eq!(silent.len(), 1, "{silent:?}");
    assert_eq!(silent[0]["data"]["webhook_id"], id);
    assert_eq!(silent[0]["data"]["title"], title.as_str());
    assert_eq!(silent[0]["data"]["last_call_at"], last_call.as_str());
    env.pump().await;
    let mail = mail_about(&env, &title).await;
    assert_eq!(mail.len(), 1, "one email: {mail:?}");
    let text = mail[0].to_string();
    assert!(text.contains("operator@example.com"), "{text}");
    assert!(text.contains(&format!("#/incoming/{id}")), "{text}");

    // Not repeated: later sweeps and a replay of the queue change nothing.
    for h in [2, 3, 30] {
        let s = env
            .app
            .incoming()
            .sweep_silence_at(hours_later(h))
            .await
            .unwrap();
        assert_eq!((s.silent, s.resumed), (0, 0), "{h} h");
    }
    env.app.outbox().sweep().await.unwrap();
    env.pump().await;
    assert_eq!(mail_about(&env, &title).await.len(), 1);

    // Calls resume: announced once.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = env.post_form(&key, &[("email", "buyer@example.com")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.pump().await;
    let s = env.app.incoming().sweep_silence().await.unwrap();
    assert_eq!((s.silent, s.resumed), (0, 1));
    let resumed = queued_events(&env, "incoming_webhook.resumed").await;
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    assert_eq!(resumed[0]["data"]["webhook_id"], id);
    assert_eq!(resumed[0]["data"]["title"], title.as_str());
    env.pump().await;
    let s = env.app.incoming().sweep_silence().await.unwrap();
    assert_eq!((s.silent, s.resumed), (0, 0));
    // Only the silence is emailed.
    assert_eq!(mail_about(&env, &title).await.len(), 1);

    // A new silence after the resumption is a new alert.
    let s = env
        .app
        .incoming()
        .sweep_silence_at(hours_later(2))
        .await
        .unwrap();
    assert_eq!(s.silent, 1);
}

#[tokio::test]
async fn webhooks_without_the_setting_or_called_in_time_stay_quiet() {
    let env = TestEnv::new().await;
    let (_, plain) = env.webhook(json!({"title": "No expectation"})).await;
    let (id, key) = env
        .webhook(json!({"title": "Daily", "expect_every_hours": 24}))
        .await;
    for k in [&plain, &key] {
        let r = env.post_form(k, &[("email", "m@example.com")]).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let s = env
        .app
        .incoming()
        .sweep_silence_at(hours_later(23))
        .await
        .unwrap();
    assert_eq!(s.silent, 0);
    // Turned off: never alerts, even long after.
    let r = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{id}"),
            Some(json!({"expect_every_hours": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["expect_every_hours"], Value::Null, "{}", r.text);
    let s = env
        .app
        .incoming()
        .sweep_silence_at(hours_later(1000))
        .await
        .unwrap();
    assert_eq!(s.silent, 0);
}

#[tokio::test]
async fn expect_every_hours_is_validated() {
    let env = TestEnv::new().await;
    for bad in [json!(0), json!(721), json!("24"), json!(2.5), json!(true)] {
        let r = env
            .admin(
                "POST",
                "/admin/incoming-webhooks",
                Some(json!({"title": "T", "expect_every_hours": bad})),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.body["code"], "invalid_param", "{}", r.text);
        assert!(r.text.contains("expect_every_hours"), "{}", r.text);
    }
    let (id, _) = env
        .webhook(json!({"title": "T", "expect_every_hours": 720}))
        .await;
    let r = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{id}"),
            Some(json!({"expect_every_hours": 0})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let w = env
        .admin("GET", &format!("/admin/incoming-webhooks/{id}"), None)
        .await;
    assert_eq!(w.body["expect_every_hours"], 720, "unchanged");
}

/// The accepted-call path makes exactly the round trips it made without the setting.
#[tokio::test]
async fn the_setting_costs_a_call_no_round_trip() {
    let env = TestEnv::new().await;
    let (_, plain) = env.webhook(json!({"title": "Plain"})).await;
    let (_, watched) = env
        .webhook(json!({"title": "Watched", "expect_every_hours": 6}))
        .await;
    let mut cost = Vec::new();
    for key in [&plain, &watched] {
        env.post_form(key, &[("email", "rt@example.com")]).await;
        let before = env.calls.snapshot();
        let r = env.post_form(key, &[("email", "rt@example.com")]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let after = env.calls.snapshot();
        cost.push((after.0 - before.0, after.1 - before.1));
    }
    println!("AWS calls per accepted call (plain, with expect_every_hours): {cost:?}");
    assert_eq!(cost[0], cost[1]);
}
