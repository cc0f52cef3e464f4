//! Sample events: what a template is checked against when it is saved, and what the preview
//! renders. Shaped like the seeds' examples (seed 003's payload, seed 004's contact).

use serde_json::{json, Value};

/// `(data, xprofile)` of a plausible `event`.
pub fn sample(event: &str) -> (Value, Option<Value>) {
    let ns = event.split('.').next().unwrap_or(event);
    switchboard(event)
        .or_else(|| community(ns, event))
        .or_else(|| content(ns))
        .or_else(|| crm(ns))
        .unwrap_or_else(|| (json!({"id": 1}), None))
}

/// The member the samples are about (`data.user`).
fn member() -> Value {
    json!({
        "user_id": 45,
        "email": "jane@example.com",
        "username": "janedoe",
        "display_name": "Jane Doe",
        "first_name": "Jane",
        "last_name": "Doe",
        "role": "subscriber",
        "status": "active",
        "meta": {},
        "created_at": "2024-03-05T16:37:02Z",
    })
}

/// The member's community profile (`xprofile`).
fn xprofile() -> Value {
    json!({
        "user_id": 45,
        "total_points": 6425,
        "is_verified": 1,
        "status": "active",
        "display_name": "Jane Doe",
        "username": "janedoe",
        "avatar": null,
        "created_at": "2024-03-05 16:37:02",
        "short_description": "Community member",
        "meta": {},
        "badge": null,
    })
}

/// The post the content samples are about.
fn post() -> Value {
    json!({
        "id": 123,
        "user_id": 45,
        "title": "Welcome to our community!",
        "message": "We're excited to have you here...",
        "space_id": 12,
        "permalink": "https://community.example.com/space/general/post/123",
        "created_at": "2024-01-15 10:30:00",
    })
}

/// The FluentCRM contact the CRM samples are about.
fn contact() -> Value {
    json!({
        "id": 123,
        "email": "user@example.com",
        "first_name": "John",
        "last_name": "Doe",
        "full_name": "John Doe",
        "status": "subscribed",
    })
}

/// The data of an event about the member (its id, the incoming webhook, the member) with
/// `extra`, and the member's profile.
fn with_member(extra: Value) -> (Value, Option<Value>) {
    let mut d = json!({"user_id": 45, "incoming_webhook_id": 1, "user": member()});
    if let (Some(m), Some(e)) = (d.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    (d, Some(xprofile()))
}

/// Switchboard's own events.
fn switchboard(event: &str) -> Option<(Value, Option<Value>)> {
    match event {
        "webhook.test" => Some((
            json!({"message": "This is a test delivery from Switchboard.", "webhook_id": 1, "webhook_name": "My endpoint"}),
            None,
        )),
        "endpoint.disabled" => Some((
            json!({"webhook_id": 1, "name": "My endpoint", "last_error": "HTTP 500"}),
            None,
        )),
        "endpoint.recovered" => Some((json!({"webhook_id": 1, "name": "My endpoint"}), None)),
        "incoming_webhook.silent" => Some((
            json!({"webhook_id": 1, "title": "Stripe purchases", "last_call_at": "2024-01-15T10:30:00Z", "expect_every_hours": 24}),
            None,
        )),
        "incoming_webhook.resumed" => Some((
            json!({"webhook_id": 1, "title": "Stripe purchases", "last_call_at": "2024-01-17T08:00:00Z", "silent_since": "2024-01-15T10:30:00Z"}),
            None,
        )),
        "user.deleted" => Some((json!({"user_id": 45}), None)),
        "incoming_webhook.processed" => Some(with_member(json!({
            "email": "jane@example.com", "created": true,
            "spaces": {"added": [12], "removed": [], "skipped": []},
            "courses": {"added": [], "removed": [], "skipped": []},
        }))),
        _ => None,
    }
}

/// Spaces, memberships, courses and members.
fn community(ns: &str, event: &str) -> Option<(Value, Option<Value>)> {
    Some(match (ns, event) {
        (_, "space.created" | "space.updated" | "space.deleted") => (
            json!({"space_id": 12, "space": {"id": 12, "title": "General", "slug": "general", "description": ""}}),
            None,
        ),
        (_, "space.member_joined" | "space.member_left") => with_member(json!({"space_id": 12})),
        ("course", _) => with_member(json!({"course_id": 7})),
        (_, "lesson.completed") => {
            with_member(json!({"course_id": 7, "lesson": {"id": 3, "title": "Getting started"}}))
        }
        ("user", _) => with_member(json!({})),
        _ => return None,
    })
}

/// Posts, comments, reactions and reports.
fn content(ns: &str) -> Option<(Value, Option<Value>)> {
    let post = post();
    let data = match ns {
        "feed" => post,
        "comment" => {
            json!({"id": 456, "post_id": 123, "user_id": 45, "message": "Great post, thanks!", "permalink": post["permalink"]})
        }
        "reaction" => {
            json!({"type": "like", "post_id": 123, "user_id": 45, "title": post["title"]})
        }
        "report" => json!({"id": 9, "post_id": 123, "reason": "Spam", "status": "open"}),
        _ => return None,
    };
    Some((data, Some(xprofile())))
}

/// FluentCRM's contacts, emails, campaigns, funnels and orders.
fn crm(ns: &str) -> Option<(Value, Option<Value>)> {
    let contact = contact();
    let data = match ns {
        "contact" => {
            json!({"contact": contact, "new_status": "subscribed", "tag": {"id": 2, "title": "VIP"}, "list": {"id": 1, "title": "Newsletter"}})
        }
        "email" => {
            json!({"contact": contact, "email": {"id": 77, "subject": "Welcome aboard"}, "url": "https://example.com/offer"})
        }
        "campaign" => json!({"campaign": {"id": 5, "title": "Spring sale", "status": "sent"}}),
        "funnel" => json!({"contact": contact, "funnel": {"id": 4, "title": "Onboarding"}}),
        "commerce" => {
            json!({"contact": contact, "order": {"id": 1001, "total": 49.5, "currency": "USD"}})
        }
        _ => return None,
    };
    Some((data, None))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_catalog_event_has_a_sample() {
        for (event, _, _) in crate::events::CATALOG {
            let (data, _) = super::sample(event);
            assert!(data.is_object(), "{event}");
        }
    }
}
