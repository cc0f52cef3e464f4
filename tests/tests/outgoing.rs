//! Outgoing webhooks against moto and real HTTP receivers on loopback (docs/reference/outgoing.md).

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use switchboard::domain::secret;
use switchboard_tests::fixtures::{endpoint, header, receiver};
use switchboard_tests::TestEnv;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn endpoint_crud_validation_and_aliases() {
    let env = TestEnv::new().await;
    let created = endpoint(
        &env,
        "https://hooks.example.com/in",
        json!(["feed.created", "space.*"]),
        json!({"headers": {"X-API-Key": "k"}}),
    )
    .await;
    assert_eq!(created["message"], "Webhook created successfully.");
    assert_eq!(created["status"], "active");
    assert_eq!(created["retry_count"], 3);
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(secret::standard_webhooks_key(secret).len(), 32);
    let id = created["id"].as_i64().unwrap();

    let list = env.admin("GET", "/admin/webhooks", None).await;
    assert_eq!(list.body["webhooks"][0]["id"], id);
    let alias = env
        .admin("GET", "/wp-json/fluent-community/v2/admin/webhooks", None)
        .await;
    assert_eq!(alias.body["webhooks"][0]["id"], id);
    let crm = env
        .admin("GET", "/wp-json/fluent-crm/v2/webhooks", None)
        .await;
    assert_eq!(crm.body["webhooks"][0]["id"], id);

    let upd = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{id}"),
            Some(json!({"events": ["*"], "retry_count": 5})),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    assert_eq!(upd.body["message"], "Webhook updated successfully.");
    assert_eq!(upd.body["events"], json!(["*"]));
    assert_eq!(upd.body["name"], "Receiver");
    let rot = env
        .admin("POST", &format!("/admin/webhooks/{id}/rotate-secret"), None)
        .await;
    assert_ne!(rot.body["secret"], created["secret"]);

    let err = |r: &switchboard_tests::Resp, status: u16, code: &str| {
        assert_eq!(r.status, status, "{}", r.text);
        assert_eq!(r.body["code"], code, "{}", r.text);
        assert_eq!(r.body["data"]["status"], status);
    };
    err(
        &env.admin(
            "POST",
            "/admin/webhooks",
            Some(json!({"name": "x", "events": ["feed.created"]})),
        )
        .await,
        400,
        "invalid_url",
    );
    err(
        &env.admin(
            "POST",
            "/admin/webhooks",
            Some(json!({"name": "x", "url": "ftp://x", "events": ["feed.created"]})),
        )
        .await,
        400,
        "invalid_url",
    );
    err(
        &env.admin(
            "POST",
            "/admin/webhooks",
            Some(json!({"name": "x", "url": "https://x.example", "events": ["invalid.event"]})),
        )
        .await,
        400,
        "invalid_webhook_event",
    );
    err(
        &env.admin(
            "POST",
            "/admin/webhooks",
            Some(json!({"url": "https://x.example", "events": ["feed.created"]})),
        )
        .await,
        400,
        "invalid_param",
    );
    err(&env.admin("POST", "/admin/webhooks", Some(json!({"name": "x", "url": "https://x.example", "events": ["feed.created"], "retry_count": 9}))).await, 400, "invalid_param");
    err(&env.admin("POST", "/admin/webhooks", Some(json!({"name": "x", "url": "https://x.example", "events": ["feed.created"], "headers": {"webhook-signature": "x"}}))).await, 400, "invalid_param");
    let long_name = "x".repeat(257);
    err(&env.admin("POST", "/admin/webhooks", Some(json!({"name": "x", "url": "https://x.example", "events": ["feed.created"], "headers": {long_name: "x"}}))).await, 400, "invalid_param");
    err(
        &env.admin(
            "POST",
            "/wp-json/fluent-crm/v2/webhooks",
            Some(json!({"name": "x", "url": "nope", "events": ["contact.created"]})),
        )
        .await,
        400,
        "invalid_webhook_url",
    );
    err(
        &env.admin("GET", "/admin/webhooks/999", None).await,
        404,
        "not_found",
    );
    err(
        &env.admin("GET", "/wp-json/fluent-crm/v2/webhooks/999", None)
            .await,
        404,
        "rest_post_invalid_id",
    );
    err(
        &env.admin("GET", "/admin/webhooks/abc", None).await,
        404,
        "not_found",
    );

    let del = env
        .admin("DELETE", &format!("/admin/webhooks/{id}"), None)
        .await;
    assert_eq!(
        del.body,
        json!({"message": "Webhook deleted successfully."})
    );
    err(
        &env.admin("DELETE", &format!("/admin/webhooks/{id}"), None)
            .await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn deployed_mode_requires_https_and_public_addresses() {
    let env = TestEnv::with(|c| {
        c.local_mode = false;
        c.admin_password = Some("admin".into());
    })
    .await;
    for url in [
        "http://hooks.example.com/",
        "https://127.0.0.1/",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/",
        "https://localhost/",
    ] {
        let r = env
            .admin(
                "POST",
                "/admin/webhooks",
                Some(json!({"name": "x", "url": url, "events": ["*"]})),
            )
            .await;
        assert_eq!(r.status, 400, "{url}: {}", r.text);
        assert_eq!(r.body["code"], "invalid_url");
    }
    // At send time too: a loopback receiver is refused even if it got stored somehow.
    let s = switchboard::sender::Sender::new(false, Duration::from_secs(2));
    let out = s.post("https://127.0.0.1:9/", &[], "{}").await;
    assert!(out.error.unwrap_or_default().contains("forbidden"));
}

#[tokio::test]
async fn incoming_execution_is_delivered_signed() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let ep = endpoint(
        &env,
        &format!("{}/hook", rx.uri()),
        json!(["space.member_joined", "user.registered"]),
        json!({"headers": {"X-API-Key": "abc"}}),
    )
    .await;
    let wid = ep["id"].as_i64().unwrap();
    let secret = ep["secret"].as_str().unwrap().to_string();
    let space = env.make("spaces", "Premium").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space]}))
        .await;
    let r = env
        .post_form(
            &key,
            &[("email", "jane@example.com"), ("first_name", "Jane")],
        )
        .await;
    let user_id = r.body["user_id"].as_i64().unwrap();
    env.pump().await;

    let got = rx.received_requests().await.unwrap();
    assert_eq!(got.len(), 2, "user.registered and space.member_joined");
    for req in &got {
        let body = std::str::from_utf8(&req.body).unwrap();
        assert_eq!(header(req, "content-type"), "application/json");
        assert_eq!(header(req, "user-agent"), "Switchboard-Webhook/1.0");
        assert_eq!(header(req, "x-api-key"), "abc");
        let sig = format!(
            "sha256={}",
            secret::hmac_sha256_hex(secret.as_bytes(), &req.body)
        );
        assert_eq!(header(req, "x-fluent-signature"), sig);
        assert_eq!(header(req, "x-fluentcrm-signature"), sig);
        assert_eq!(header(req, "x-fluentcrm-webhook-id"), wid.to_string());
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            header(req, "x-fluentcrm-event"),
            v["event"].as_str().unwrap()
        );
        assert_eq!(
            header(req, "x-fluentcrm-delivery"),
            v["delivery_id"].as_str().unwrap()
        );
        assert_eq!(
            header(req, "webhook-id"),
            v["delivery_id"].as_str().unwrap()
        );
        assert!(secret::standard_webhooks_verify(
            &secret,
            header(req, "webhook-id"),
            header(req, "webhook-timestamp"),
            header(req, "webhook-signature"),
            &req.body,
            chrono_now()
        ));
        assert_eq!(v["webhook_id"], wid);
        assert_eq!(v["data"]["user_id"], user_id);
        assert_eq!(v["xprofile"]["display_name"], "Jane");
        assert_eq!(
            body,
            switchboard::domain::json::to_js_string(&v),
            "canonical JSON"
        );
        assert!(!body.contains("argon2"));
    }
    let joined = got
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|v| v["event"] == "space.member_joined")
        .unwrap();
    assert_eq!(joined["data"]["space_id"], space);

    let log = env
        .admin("GET", &format!("/admin/webhooks/{wid}/deliveries"), None)
        .await;
    assert_eq!(log.body["pagination"]["total"], 2);
    let row = &log.body["deliveries"][0];
    assert_eq!(row["status"], "success");
    assert_eq!(row["response_code"], 200);
    assert_eq!(row["attempts"], 1);
    let did = row["id"].as_str().unwrap();
    let detail = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/deliveries/{did}"),
            None,
        )
        .await;
    let attempt = &detail.body["attempts"][0];
    assert_eq!(attempt["response_code"], 200);
    assert_eq!(attempt["response_body"], "ok");
    assert_eq!(attempt["request_headers"]["X-API-Key"], "[redacted]");
    assert_eq!(
        attempt["request_headers"]["X-Fluent-Signature"],
        "[redacted]"
    );
    assert_eq!(attempt["request_headers"]["X-FluentCRM-Delivery"], did);
    assert!(!detail.text.contains(&secret));
    let after = env
        .admin("GET", &format!("/admin/webhooks/{wid}"), None)
        .await;
    assert!(after.body["last_triggered_at"].is_string());
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn failures_are_retried_on_schedule_then_fail() {
    let env = TestEnv::new().await;
    let rx = receiver(500).await;
    let ep = endpoint(
        &env,
        &rx.uri(),
        json!(["feed.created"]),
        json!({"retry_count": 2}),
    )
    .await;
    let wid = ep["id"].as_i64().unwrap();
    let r = env
        .publish(json!({"event": "feed.created", "data": {"id": 1}}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.body["event_id"].is_string());
    env.pump().await;

    let list = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/deliveries?status=pending"),
            None,
        )
        .await;
    assert_eq!(list.body["pagination"]["total"], 1, "{}", list.text);
    let did = list.body["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = env
        .app
        .store_for_tests()
        .deliveries
        .get(wid, &did)
        .await
        .unwrap()
        .unwrap();
    let first = d.attempts[0].attempted_at;
    let next = d.next_attempt_at.unwrap();
    let delay = next.as_second() - first.as_second();
    assert!(
        (47..=73).contains(&delay),
        "first retry after 1 min ± 20 %: {delay}"
    );
    let ep_state = env
        .admin("GET", &format!("/admin/webhooks/{wid}"), None)
        .await;
    assert_eq!(ep_state.body["last_error"], "HTTP 500");

    // The retry message is on the queue with that delay; play it now.
    let retry = |attempt: u32| {
        json!({"retry": {"webhook_id": wid, "delivery_id": did, "attempt": attempt, "not_before": 0}}).to_string()
    };
    env.app
        .deliveries()
        .handle_message(&retry(2))
        .await
        .unwrap();
    let d = env
        .app
        .store_for_tests()
        .deliveries
        .get(wid, &did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.attempts.len(), 2);
    let delay2 = d.next_attempt_at.unwrap().as_second() - d.attempts[1].attempted_at.as_second();
    assert!(
        (239..=361).contains(&delay2),
        "second retry after 5 min ± 20 %: {delay2}"
    );
    env.app
        .deliveries()
        .handle_message(&retry(2))
        .await
        .unwrap(); // a duplicate message changes nothing
    assert_eq!(
        env.app
            .store_for_tests()
            .deliveries
            .get(wid, &did)
            .await
            .unwrap()
            .unwrap()
            .attempts
            .len(),
        2
    );
    env.app
        .deliveries()
        .handle_message(&retry(3))
        .await
        .unwrap();
    let d = env
        .app
        .store_for_tests()
        .deliveries
        .get(wid, &did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status.to_string(), "failed");
    assert_eq!(d.attempts.len(), 3, "first attempt + retry_count retries");
    assert_eq!(rx.received_requests().await.unwrap().len(), 3);
    let ids: std::collections::BTreeSet<String> = rx
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| header(r, "x-fluentcrm-delivery").to_string())
        .collect();
    assert_eq!(ids.len(), 1, "the delivery id is stable across attempts");
    let ep_state = env
        .admin("GET", &format!("/admin/webhooks/{wid}"), None)
        .await;
    assert_eq!(ep_state.body["consecutive_failures"], 1);
    assert_eq!(ep_state.body["status"], "active");
    let failed = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/deliveries?status=failed"),
            None,
        )
        .await;
    assert_eq!(failed.body["pagination"]["total"], 1);
}

#[tokio::test]
async fn early_retry_messages_are_requeued_until_due() {
    let env = TestEnv::new().await;
    let msg = json!({"retry": {"webhook_id": 1, "delivery_id": "01HQ3Z9X4K8M2N5P7R9T1V3W5Y", "attempt": 2, "not_before": chrono_now() + 7200}});
    env.app
        .deliveries()
        .handle_message(&msg.to_string())
        .await
        .unwrap();
    // Not due for 2 h: sent back with the longest SQS delay (so not visible now).
    assert!(env.queued().await.is_empty());
}

#[tokio::test]
async fn retry_after_is_honoured_within_bounds() {
    let env = TestEnv::new().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "100"))
        .mount(&server)
        .await;
    let ep = endpoint(&env, &server.uri(), json!(["feed.*"]), json!({})).await;
    let wid = ep["id"].as_i64().unwrap();
    env.publish(json!({"event": "feed.updated"})).await;
    env.pump().await;
    let page = env
        .app
        .store_for_tests()
        .deliveries
        .list(wid, None, &Default::default())
        .await
        .unwrap();
    let d = &page.items[0];
    let delay = d.next_attempt_at.unwrap().as_second() - d.attempts[0].attempted_at.as_second();
    assert!(
        (95..=101).contains(&delay),
        "Retry-After 100 clamped to [48..72, 2x]: {delay}"
    );
}

#[tokio::test]
async fn gone_and_repeated_failures_disable_the_endpoint() {
    let env = TestEnv::new().await;
    let gone = receiver(410).await;
    let ep = endpoint(&env, &gone.uri(), json!(["*"]), json!({})).await;
    let gid = ep["id"].as_i64().unwrap();
    let broken = receiver(500).await;
    let ep2 = endpoint(
        &env,
        &broken.uri(),
        json!(["feed.created"]),
        json!({"retry_count": 0}),
    )
    .await;
    let bid = ep2["id"].as_i64().unwrap();
    for i in 0..5 {
        env.publish(json!({"event": "feed.created", "data": {"n": i}}))
            .await;
        env.pump().await;
    }
    let g = env
        .admin("GET", &format!("/admin/webhooks/{gid}"), None)
        .await;
    assert_eq!(g.body["status"], "failed");
    assert_eq!(
        gone.received_requests().await.unwrap().len(),
        1,
        "nothing after 410"
    );
    let b = env
        .admin("GET", &format!("/admin/webhooks/{bid}"), None)
        .await;
    assert_eq!(b.body["status"], "failed", "{}", b.text);
    assert_eq!(b.body["consecutive_failures"], 5);
    env.publish(json!({"event": "feed.created"})).await;
    env.pump().await;
    assert_eq!(
        broken.received_requests().await.unwrap().len(),
        5,
        "a failed endpoint receives nothing"
    );
    let re = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{bid}"),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(re.body["status"], "active");
    assert_eq!(re.body["consecutive_failures"], 0);
}

#[tokio::test]
async fn test_and_redeliver() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let ep = endpoint(&env, &rx.uri(), json!(["feed.created"]), json!({})).await;
    let wid = ep["id"].as_i64().unwrap();
    let t = env
        .admin("POST", &format!("/admin/webhooks/{wid}/test"), None)
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["success"], true);
    assert_eq!(t.body["status_code"], 200);
    assert!(t.body["response_time"].is_u64());
    assert_eq!(t.body["message"], "Webhook test successful.");
    let req = &rx.received_requests().await.unwrap()[0];
    let v: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(v["event"], "webhook.test");
    let did = t.body["delivery_id"].as_str().unwrap();
    let again = env
        .admin(
            "POST",
            &format!("/admin/webhooks/{wid}/deliveries/{did}/redeliver"),
            None,
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["attempt_count"], 2);
    let got = rx.received_requests().await.unwrap();
    assert_eq!(header(&got[1], "x-fluentcrm-delivery"), did);
    assert_eq!(got[0].body, got[1].body, "the same body is redelivered");

    let down = env
        .admin(
            "POST",
            "/admin/webhooks",
            Some(json!({"name": "down", "url": "http://127.0.0.1:9/", "events": ["*"]})),
        )
        .await;
    let t2 = env
        .admin(
            "POST",
            &format!("/admin/webhooks/{}/test", down.body["id"]),
            None,
        )
        .await;
    assert_eq!(t2.body["success"], false);
    assert!(t2.body["message"]
        .as_str()
        .unwrap()
        .starts_with("Webhook test failed"));
    let did2 = t2.body["delivery_id"].as_str().unwrap();
    let d2 = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{}/deliveries/{did2}", down.body["id"]),
            None,
        )
        .await;
    assert_eq!(
        d2.body["status"], "failed",
        "a failed test is not left pending"
    );
    let nf = env
        .admin(
            "POST",
            &format!("/admin/webhooks/{wid}/deliveries/01HQ3Z9X4K8M2N5P7R9T1V3W5Y/redeliver"),
            None,
        )
        .await;
    assert_eq!(nf.status, 404);
}

#[tokio::test]
async fn published_events_get_xprofile_and_tricky_payloads_stay_canonical() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let ep = endpoint(&env, &rx.uri(), json!(["feed.created"]), json!({})).await;
    let secret = ep["secret"].as_str().unwrap().to_string();
    let (_, key) = env.webhook(json!({"title": "T"})).await;
    let user_id = env
        .post_form(&key, &[("email", "x@example.com"), ("first_name", "Zoë")])
        .await
        .body["user_id"]
        .as_i64()
        .unwrap();
    let data = json!({
        "title": "Ünïcödé 😀 \"quoted\" \\ back\nline\ttab\u{1}\u{7f}\u{2028}",
        "big": 820982911946154508u64, "neg": -12, "float": 1.5, "whole": 2.0, "tiny": 1e-7,
        "nested": {"b": [1, {"2": true, "10": null, "a": []}], "a": {}},
    });
    let r = env
        .publish(json!({"event": "feed.created", "data": data, "user_id": user_id}))
        .await;
    assert_eq!(r.status, 202);
    env.pump().await;
    let req = &rx.received_requests().await.unwrap()[0];
    let body = std::str::from_utf8(&req.body).unwrap();
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body, switchboard::domain::json::to_js_string(&v));
    assert_eq!(v["data"]["big"], "820982911946154508");
    assert!(body.contains(r#""whole":2,"#));
    assert!(body.contains(r#""2":true,"10":null,"a":[]"#));
    assert_eq!(v["xprofile"]["display_name"], "Zoë");
    assert_eq!(v["xprofile"]["user_id"], user_id);
    assert_eq!(
        header(req, "x-fluent-signature"),
        format!(
            "sha256={}",
            secret::hmac_sha256_hex(secret.as_bytes(), &req.body)
        )
    );

    for bad in [
        json!({"event": "nope.nope"}),
        json!({"event": "feed.created", "data": [1]}),
        json!({}),
        json!({"event": "feed.*"}),
    ] {
        let r = env.admin("POST", "/admin/events", Some(bad.clone())).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
}

#[tokio::test]
async fn one_dead_endpoint_does_not_delay_the_others() {
    let env = TestEnv::with(|c| c.delivery_timeout_seconds = 30).await;
    let rx = receiver(200).await;
    // A receiver that accepts connections and never answers.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((s, _)) = dead.accept().await {
            conns.push(s);
        }
    });
    env.admin("POST", "/admin/webhooks", Some(json!({"name": "dead", "url": format!("http://{dead_addr}/"), "events": ["feed.created"]}))).await;
    for i in 0..199 {
        endpoint(
            &env,
            &format!("{}/ep/{i}", rx.uri()),
            json!(["feed.created"]),
            json!({}),
        )
        .await;
    }
    env.publish(json!({"event": "feed.created"})).await;
    let started = std::time::Instant::now();
    let pump = tokio::spawn({
        let app = env.app.clone();
        let queued = env.queued().await;
        async move {
            for b in queued {
                let _ = app.deliveries().handle_message(&b.to_string()).await;
            }
        }
    });
    loop {
        let n = rx.received_requests().await.unwrap().len();
        if n >= 199 {
            break;
        }
        assert!(
            !pump.is_finished(),
            "the batch finished before the live endpoints got their deliveries ({n})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "199 live endpoints delivered after {:?} while the dead one still hangs",
        started.elapsed()
    );
    assert!(
        !pump.is_finished(),
        "the dead endpoint is still inside its 30 s timeout"
    );
    pump.abort();
}

#[tokio::test]
async fn a_killed_dispatch_loses_nothing_and_reuses_delivery_ids() {
    let env = TestEnv::new().await;
    let fast = receiver(200).await;
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&slow)
        .await;
    endpoint(&env, &fast.uri(), json!(["feed.created"]), json!({})).await;
    let s = endpoint(
        &env,
        &format!("{}/slow", slow.uri()),
        json!(["feed.created"]),
        json!({}),
    )
    .await;
    env.publish(json!({"event": "feed.created"})).await;
    let batch = env.queued().await.remove(0).to_string();
    // "Kill" dispatch while the slow delivery is in flight: the message is not deleted.
    let killed = tokio::time::timeout(
        Duration::from_millis(1500),
        env.app.deliveries().handle_message(&batch),
    )
    .await;
    assert!(killed.is_err());
    assert_eq!(fast.received_requests().await.unwrap().len(), 1);
    // SQS hands the message out again; the second run completes what the first began.
    env.app.deliveries().handle_message(&batch).await.unwrap();
    assert_eq!(
        fast.received_requests().await.unwrap().len(),
        1,
        "the finished delivery is not repeated"
    );
    let slow_got = slow.received_requests().await.unwrap();
    assert_eq!(slow_got.len(), 2, "the interrupted delivery is sent again");
    assert_eq!(
        header(&slow_got[0], "x-fluentcrm-delivery"),
        header(&slow_got[1], "x-fluentcrm-delivery")
    );
    let wid = s["id"].as_i64().unwrap();
    let log = env
        .admin("GET", &format!("/admin/webhooks/{wid}/deliveries"), None)
        .await;
    assert_eq!(log.body["pagination"]["total"], 1);
    assert_eq!(log.body["deliveries"][0]["status"], "success");
    // The batch left the outbox: a third copy is a no-op.
    env.app.deliveries().handle_message(&batch).await.unwrap();
    assert_eq!(slow.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn deliveries_paginate_with_exact_totals_and_cursor() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let ep = endpoint(&env, &rx.uri(), json!(["comment.*"]), json!({})).await;
    let wid = ep["id"].as_i64().unwrap();
    for i in 0..7 {
        env.publish(json!({"event": "comment.created", "data": {"i": i}}))
            .await;
    }
    env.pump().await;
    let p1 = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/deliveries?per_page=3&page=1"),
            None,
        )
        .await;
    assert_eq!(
        p1.body["pagination"],
        json!({"total": 7, "per_page": 3, "current_page": 1, "last_page": 3})
    );
    let p3 = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/deliveries?per_page=3&page=3"),
            None,
        )
        .await;
    assert_eq!(p3.body["deliveries"].as_array().unwrap().len(), 1);
    let mut seen = Vec::new();
    let mut url = format!("/admin/webhooks/{wid}/deliveries?per_page=3");
    loop {
        let r = env.admin("GET", &url, None).await;
        for d in r.body["deliveries"].as_array().unwrap() {
            seen.push(d["id"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("/admin/webhooks/{wid}/deliveries?per_page=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first");
    let bad = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/deliveries?status=weird"),
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn sqs_batches_report_only_the_failed_records() {
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    let env = TestEnv::new().await;
    env.publish(json!({"event": "feed.created"})).await;
    let good = env.queued().await.remove(0).to_string();
    let record = |id: &str, body: &str| {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m
    };
    let mut event = SqsEvent::default();
    event.records = vec![
        record("a", &good),
        record("b", "not json: dropped, not retried"),
    ];
    let ok = switchboard::transport::sqs::handle(env.app.deliveries(), &event, None).await;
    assert!(ok.batch_item_failures.is_empty(), "{ok:?}");

    // The same batch on an app whose table is gone: every readable record fails and is reported.
    let mut broken = env.stack.config();
    broken.table_name = "no-such-table".into();
    let down = TestEnv::on(env.stack.clone(), broken).await;
    event.records = vec![record("a", &good), record("c", &good)];
    let failed = switchboard::transport::sqs::handle(down.app.deliveries(), &event, None).await;
    let ids: Vec<String> = failed
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(ids, vec!["a", "c"]);
}

#[tokio::test]
async fn batches_fanned_out_together_all_leave_the_outbox() {
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    endpoint(&env, &rx.uri(), json!(["feed.created"]), json!({})).await;
    for n in 0..30 {
        env.publish(json!({"event": "feed.created", "data": {"n": n}}))
            .await;
    }
    let queued = env.queued().await;
    assert_eq!(queued.len(), 30);
    let mut event = SqsEvent::default();
    for (i, batch) in queued.iter().enumerate() {
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("m{i}"));
        m.body = Some(batch.to_string());
        event.records.push(m);
    }
    // One joint fan-out of 30 batches: every event delivered once, every batch deleted from
    // the outbox (25 per BatchWriteItem), and handling the same messages again sends nothing.
    for _ in 0..2 {
        let r = switchboard::transport::sqs::handle(env.app.deliveries(), &event, None).await;
        assert!(r.batch_item_failures.is_empty(), "{r:?}");
    }
    let outbox = env
        .all_items()
        .await
        .into_iter()
        .filter(|i| {
            i.get("pk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|p| p.starts_with("OUTBOX"))
        })
        .count();
    assert_eq!(outbox, 0);
    assert_eq!(rx.received_requests().await.unwrap_or_default().len(), 30);
}

#[tokio::test]
async fn a_failed_manual_redelivery_keeps_the_scheduled_retry() {
    let env = TestEnv::new().await;
    let rx = receiver(500).await;
    let ep = endpoint(
        &env,
        &rx.uri(),
        json!(["feed.created"]),
        json!({"retry_count": 3}),
    )
    .await;
    let wid = ep["id"].as_i64().unwrap();
    env.publish(json!({"event": "feed.created"})).await;
    env.pump().await;
    let page = env
        .app
        .store_for_tests()
        .deliveries
        .list(wid, None, &Default::default())
        .await
        .unwrap();
    let did = page.items[0].id.clone();
    let r = env
        .admin(
            "POST",
            &format!("/admin/webhooks/{wid}/deliveries/{did}/redeliver"),
            None,
        )
        .await;
    assert_eq!(r.body["success"], false);
    assert_eq!(r.body["status"], "pending", "still waiting for its retry");
    // The retry announced for attempt 3 (first + manual) carries on.
    let msg =
        json!({"retry": {"webhook_id": wid, "delivery_id": did, "attempt": 3, "not_before": 0}});
    env.app
        .deliveries()
        .handle_message(&msg.to_string())
        .await
        .unwrap();
    assert_eq!(
        env.app
            .store_for_tests()
            .deliveries
            .get(wid, &did)
            .await
            .unwrap()
            .unwrap()
            .attempts
            .len(),
        3
    );
}

/// The stored shape before configuration and deliveries became JSON strings: a map.
fn as_map(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(as_map).collect()),
        Value::Object(o) => {
            AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), as_map(v))).collect())
        }
    }
}

#[tokio::test]
async fn endpoints_and_deliveries_stored_as_maps_still_read_edit_and_redeliver() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let ep = endpoint(&env, &rx.uri(), json!(["feed.created"]), json!({})).await;
    let wid = ep["id"].as_i64().unwrap();
    let t = env
        .admin("POST", &format!("/admin/webhooks/{wid}/test"), None)
        .await;
    let did = t.body["delivery_id"].as_str().unwrap().to_string();
    let client = env.app.store_for_tests().table.client().0.clone();
    // Rewrite both items as they were stored before: `data` a map holding everything.
    let mut rewritten = 0;
    for mut item in env.all_items().await {
        let sk = item["sk"].as_s().unwrap().clone();
        let is_endpoint = sk == format!("{wid:012}") && item["pk"].as_s().unwrap() == "WEBHOOK";
        if !(is_endpoint || sk == did) {
            continue;
        }
        let mut data: Value = serde_json::from_str(item["data"].as_s().unwrap()).unwrap();
        if let Some(AttributeValue::S(payload)) = item.remove("payload") {
            data["payload"] = Value::String(payload);
        }
        item.remove("revision");
        item.insert("data".into(), as_map(&data));
        client
            .put_item()
            .table_name(&env.stack.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
        rewritten += 1;
    }
    assert_eq!(rewritten, 2);

    let got = env
        .admin("GET", &format!("/admin/webhooks/{wid}"), None)
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body["name"], ep["name"]);
    // The edit's condition holds in both shapes: a stale revision is refused.
    let repo = &env.app.store_for_tests().outgoing;
    let stale = |cfg: &switchboard::domain::outgoing::OutgoingConfig| cfg.revision - 1;
    let cfg = repo.get(wid).await.unwrap().unwrap().config;
    assert!(repo
        .save(&cfg, stale(&cfg), None, false)
        .await
        .unwrap()
        .is_none());
    // The first edit meets the old shape (revision inside the map), the second the new one.
    for name in ["Renamed", "Renamed twice"] {
        let path = format!("/admin/webhooks/{wid}");
        let edit = env.admin("PUT", &path, Some(json!({"name": name}))).await;
        assert_eq!(edit.status, 200, "{}", edit.text);
        assert_eq!(edit.body["name"], name);
    }
    let cfg = repo.get(wid).await.unwrap().unwrap().config;
    assert!(repo
        .save(&cfg, stale(&cfg), None, false)
        .await
        .unwrap()
        .is_none());

    let d = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{wid}/deliveries/{did}"),
            None,
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["attempts"].as_array().unwrap().len(), 1);
    let redo = env
        .admin(
            "POST",
            &format!("/admin/webhooks/{wid}/deliveries/{did}/redeliver"),
            None,
        )
        .await;
    assert_eq!(redo.status, 200, "{}", redo.text);
    assert_eq!(redo.body["attempt_count"], 2);
    let sent = rx.received_requests().await.unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].body, sent[1].body,
        "the same body, read from the map"
    );
}
