//! Operator controls (docs/reference/outgoing.md#filters-and-secret-rotation): payload filters,
//! rotation with overlap, idempotent publish (pause that holds: tests/tests/engine.rs).

use serde_json::{json, Value};
use switchboard_tests::fixtures::{endpoint_id, header, receiver};
use switchboard_tests::{basic, TestEnv};

async fn bodies(rx: &wiremock::MockServer) -> Vec<Value> {
    rx.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn filters_route_events_and_refused_events_make_no_delivery() {
    let env = TestEnv::new().await;
    let (rx12, rx13) = (receiver(200).await, receiver(200).await);
    let e12 = endpoint_id(
        &env,
        "space 12",
        &rx12.uri(),
        json!(["feed.created"]),
        json!({"filter": {"data.space_id": 12}}),
    )
    .await;
    let e13 = endpoint_id(
        &env,
        "space 13 or pro",
        &rx13.uri(),
        json!(["feed.*"]),
        json!({"filter": {"$or": [{"data.space_id": {"$in": [13]}}, {"xprofile.meta.plan": "pro"}]}}),
    )
    .await;
    for space in [12, 13, 14] {
        let r = env
            .publish(json!({"event": "feed.created", "data": {"space_id": space, "title": "t"}}))
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
    }
    let r = env
        .publish(json!({"event": "feed.created", "data": {"space_id": 99},
                        "xprofile": {"meta": {"plan": "pro"}}}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    env.pump().await;
    let got12: Vec<Value> = bodies(&rx12)
        .await
        .iter()
        .map(|b| b["data"]["space_id"].clone())
        .collect();
    let mut got13: Vec<Value> = bodies(&rx13)
        .await
        .iter()
        .map(|b| b["data"]["space_id"].clone())
        .collect();
    got13.sort_by_key(|v| v.as_i64());
    assert_eq!(got12, vec![json!(12)]);
    assert_eq!(got13, vec![json!(13), json!(99)]);
    // Refused events leave no delivery record.
    for (id, n) in [(e12, 1), (e13, 2)] {
        let log = env
            .admin("GET", &format!("/admin/webhooks/{id}/deliveries"), None)
            .await;
        assert_eq!(log.body["pagination"]["total"], n, "{}", log.text);
    }

    // The filter reads back as written, clears with null, and bad filters are refused.
    let ep = env
        .admin("GET", &format!("/admin/webhooks/{e12}"), None)
        .await;
    assert_eq!(ep.body["filter"], json!({"data.space_id": 12}));
    for bad in [
        json!({"data.x": {"$regex": "a"}}),
        json!({"data.x": {"$in": 1}}),
        json!({"a.b.c.d.e.f.g.h.i": 1}),
        json!({"data.x": {"$in": vec!["y".repeat(200); 30]}}),
        json!([1]),
    ] {
        let r = env
            .admin(
                "PUT",
                &format!("/admin/webhooks/{e12}"),
                Some(json!({"filter": bad})),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.body["code"], "invalid_param");
        assert!(r.text.contains("filter"), "{}", r.text);
    }
    let r = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{e12}"),
            Some(json!({"filter": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["filter"], Value::Null);
    env.publish(json!({"event": "feed.created", "data": {"space_id": 14}}))
        .await;
    env.pump().await;
    assert_eq!(bodies(&rx12).await.len(), 2);
}

#[tokio::test]
async fn preview_says_whether_a_sample_passes() {
    let env = TestEnv::new().await;
    let preview = |body: Value| env.admin("POST", "/admin/webhooks/preview", Some(body));
    let r = preview(json!({"event": "feed.created", "filter": {"event": "feed.created"}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["filter_passes"], true);
    let r = preview(json!({"event": "feed.created", "data": {"space_id": 12},
                           "filter": {"data.space_id": 13}}))
    .await;
    assert_eq!(r.body["filter_passes"], false, "{}", r.text);
    let r = preview(json!({"event": "feed.created", "data": {"space_id": 13},
                           "filter": {"data.space_id": {"$gte": 13}}}))
    .await;
    assert_eq!(r.body["filter_passes"], true, "{}", r.text);
    let r = preview(json!({"event": "feed.created", "filter": {"x": {"$bogus": 1}}})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body.get("filter_passes").is_none());
    let r = preview(json!({"event": "feed.created"})).await;
    assert!(r.body.get("filter_passes").is_none(), "{}", r.text);
}

#[tokio::test]
async fn rotation_keeps_the_previous_secret_signing_for_the_overlap() {
    use switchboard::domain::secret;
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let id = endpoint_id(&env, "rx", &rx.uri(), json!(["feed.created"]), json!({})).await;
    let path = format!("/admin/webhooks/{id}");
    let old = env.admin("GET", &path, None).await.body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    for bad in [
        json!({"overlap_seconds": -1}),
        json!({"overlap_seconds": 604_801}),
        json!({"overlap_seconds": "1h"}),
    ] {
        let r = env
            .admin("POST", &format!("{path}/rotate-secret"), Some(bad))
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["code"], "invalid_param");
    }
    assert_eq!(env.admin("GET", &path, None).await.body["secret"], old);
    // Default overlap: 24 h.
    let r = env
        .admin("POST", &format!("{path}/rotate-secret"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new = r.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(r.body["previous_secret"], old.as_str());
    let until: jiff::Timestamp = r.body["previous_secret_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = until.as_second() - jiff::Timestamp::now().as_second();
    assert!((86_000..=86_400).contains(&left), "{left}");

    env.publish(json!({"event": "feed.created", "data": {"n": 1}}))
        .await;
    env.pump().await;
    let reqs = rx.received_requests().await.unwrap();
    let req = reqs.last().unwrap();
    assert_eq!(header(req, "webhook-signature").split(' ').count(), 2);
    assert!(verifies(req, &new) && verifies(req, &old));
    assert_eq!(
        header(req, "x-fluent-signature"),
        format!(
            "sha256={}",
            secret::hmac_sha256_hex(new.as_bytes(), &req.body)
        )
    );

    // overlap 0 ends it at once.
    let r = env
        .admin(
            "POST",
            &format!("{path}/rotate-secret"),
            Some(json!({"overlap_seconds": 0})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["previous_secret"], Value::Null);
    let newest = r.body["secret"].as_str().unwrap().to_string();
    env.publish(json!({"event": "feed.created", "data": {"n": 2}}))
        .await;
    env.pump().await;
    let reqs = rx.received_requests().await.unwrap();
    let req = reqs.last().unwrap();
    assert_eq!(header(req, "webhook-signature").split(' ').count(), 1);
    assert!(!verifies(req, &new));
    assert!(verifies(req, &newest));
}

/// Whether a delivery's Standard Webhooks headers verify with `secret` (the reference check).
fn verifies(req: &wiremock::Request, secret: &str) -> bool {
    switchboard::domain::secret::standard_webhooks_verify(
        secret,
        header(req, "webhook-id"),
        header(req, "webhook-timestamp"),
        header(req, "webhook-signature"),
        &req.body,
        jiff::Timestamp::now().as_second(),
    )
}

#[tokio::test]
async fn publish_is_idempotent_by_key_or_event_id() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let id = endpoint_id(&env, "rx", &rx.uri(), json!(["feed.created"]), json!({})).await;
    let post = |key: Option<&'static str>, body: Value| {
        let env = &env;
        async move {
            let auth = basic("admin", "admin");
            let mut headers = vec![
                ("content-type", "application/json"),
                ("authorization", auth.as_str()),
            ];
            if let Some(k) = key {
                headers.push(("idempotency-key", k));
            }
            env.admin_raw(
                "POST",
                "/admin/events",
                &headers,
                &body.to_string(),
                "203.0.113.1",
            )
            .await
        }
    };
    let body = json!({"event": "feed.created", "data": {"id": 1, "title": "t"}});
    let first = post(Some("order-1"), body.clone()).await;
    assert_eq!(first.status, 202, "{}", first.text);
    // The same key and body (keys in another order): the first answer, nothing published.
    let again = post(
        Some("order-1"),
        json!({"data": {"title": "t", "id": 1}, "event": "feed.created"}),
    )
    .await;
    assert_eq!((again.status, &again.body), (202, &first.body));
    // The same key, another body: 409.
    let other = post(
        Some("order-1"),
        json!({"event": "feed.created", "data": {"id": 2}}),
    )
    .await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(other.body["code"], "idempotency_conflict");
    // A body's own event_id does the same; another key is another event.
    let own = json!({"event": "feed.created", "event_id": "post-42", "data": {"id": 42}});
    let a = post(None, own.clone()).await;
    let b = post(None, own.clone()).await;
    assert_eq!((a.status, b.status), (202, 202));
    assert_eq!(a.body["event_id"], b.body["event_id"]);
    assert_ne!(a.body["event_id"], first.body["event_id"]);
    let c = post(
        None,
        json!({"event": "feed.created", "event_id": "post-42", "data": {"id": 43}}),
    )
    .await;
    assert_eq!(c.status, 409, "{}", c.text);
    let fresh = post(Some("order-2"), body.clone()).await;
    assert_ne!(fresh.body["event_id"], first.body["event_id"]);
    for (key, bad) in [
        (Some("é"), body.clone()),
        (
            None,
            json!({"event": "feed.created", "event_id": "has space"}),
        ),
        (
            None,
            json!({"event": "feed.created", "event_id": "x".repeat(65)}),
        ),
    ] {
        let r = post(key, bad).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["code"], "invalid_param");
    }
    env.pump().await;
    // order-1, post-42 and order-2: three deliveries.
    assert_eq!(rx.received_requests().await.unwrap().len(), 3);
    let log = env
        .admin("GET", &format!("/admin/webhooks/{id}/deliveries"), None)
        .await;
    assert_eq!(log.body["pagination"]["total"], 3, "{}", log.text);
}

/// Concurrent publishes under one key publish one event.
#[tokio::test]
async fn concurrent_publishes_with_one_key_publish_once() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    endpoint_id(&env, "rx", &rx.uri(), json!(["feed.created"]), json!({})).await;
    let body = json!({"event": "feed.created", "data": {"id": 7}}).to_string();
    let auth = basic("admin", "admin");
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", "same"),
        ("authorization", auth.as_str()),
    ];
    let calls =
        (0..8).map(|_| env.admin_raw("POST", "/admin/events", &headers, &body, "203.0.113.1"));
    let answers = futures::future::join_all(calls).await;
    let ok: Vec<&Value> = answers
        .iter()
        .filter(|r| r.status == 202)
        .map(|r| &r.body["event_id"])
        .collect();
    assert!(!ok.is_empty());
    assert!(ok.iter().all(|id| *id == ok[0]), "{ok:?}");
    for r in &answers {
        assert!(r.status == 202 || r.status == 409, "{}", r.text);
    }
    env.pump().await;
    assert_eq!(rx.received_requests().await.unwrap().len(), 1);
}
