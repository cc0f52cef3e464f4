use serde_json::{json, Value};

use super::super::markup::{render, Chat};
use super::*;

fn line(event: &str, data: Value, x: Option<Value>) -> String {
    let ctx = EventContext {
        event,
        timestamp: "t",
        webhook_id: 1,
        delivery_id: "d",
        data: &data,
        xprofile: x.as_ref(),
    };
    render(Chat::Slack, &default_message(&ctx))
}

#[test]
fn community_events() {
    let x = Some(json!({"display_name": "Jane Doe"}));
    assert_eq!(
        line(
            "feed.created",
            json!({"title": "Welcome!", "space_id": 12}),
            x.clone()
        ),
        "*Jane Doe* posted in space #12: “Welcome!”"
    );
    assert_eq!(
        line(
            "feed.created",
            json!({"title": "Hi", "space": {"title": "General"}, "permalink": "https://c.example/p/1"}),
            x.clone()
        ),
        "*Jane Doe* posted in space *General*: <https://c.example/p/1|Hi>"
    );
    assert_eq!(
        line("space.member_joined", json!({"space_id": 3}), x.clone()),
        "*Jane Doe* joined space #3"
    );
    assert_eq!(
        line("course.enrolled", json!({"course_id": 7}), x.clone()),
        "*Jane Doe* enrolled in course #7"
    );
    assert_eq!(
        line(
            "space.created",
            json!({"space_id": 3, "space": {"title": "VIP"}}),
            None
        ),
        "Space *VIP* was created"
    );
    assert_eq!(
        line(
            "user.registered",
            json!({"user": {"display_name": "Bo"}}),
            None
        ),
        "*Bo* joined the community"
    );
}

#[test]
fn other_events() {
    assert_eq!(
        line("webhook.test", json!({"webhook_name": "Ops"}), None),
        "Test message from Switchboard: endpoint *Ops* is connected"
    );
    assert_eq!(
        line(
            "incoming_webhook.processed",
            json!({"incoming_webhook_id": 2, "created": true, "spaces": {"added": [1, 2]}, "user": {"display_name": "Al"}}),
            None
        ),
        "Incoming webhook #2 processed *Al* (new member), added to 2 spaces"
    );
    assert_eq!(
        line(
            "contact.status_changed",
            json!({"contact": {"first_name": "Ann", "last_name": "Lee"}, "new_status": "subscribed"}),
            None
        ),
        "Contact status updated: *Ann Lee* – subscribed"
    );
    assert_eq!(
        line(
            "commerce.order_created",
            json!({"order": {"total": 49.5, "currency": "USD"}}),
            None
        ),
        "New order placed: 49.5 USD"
    );
    assert_eq!(
        line("unknown.thing", json!({}), None),
        "Event (unknown.thing)"
    );
    assert_eq!(
        line(
            "endpoint.disabled",
            json!({"webhook_id": 4, "name": "CRM", "last_error": "HTTP 500"}),
            None
        ),
        "Endpoint *CRM* was disabled: HTTP 500"
    );
}

#[test]
fn every_catalog_event_has_a_line() {
    for (event, _, _) in crate::events::CATALOG {
        assert!(!line(event, json!({}), None).is_empty(), "{event}");
    }
}
