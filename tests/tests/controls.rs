//! Operator controls (SPEC §6.9): payload filters, rotation with overlap, pause that holds,
//! idempotent publish.

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
