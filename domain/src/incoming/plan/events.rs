//! The events of one execution.

use serde_json::{json, Value};

use super::{Applied, Change, Op, Request};
use crate::events::{names, Event, EventName};
use crate::member::Member;
use crate::membership::Kind;

/// The events of what actually changed, then `incoming_webhook.processed`.
pub(super) fn events(
    req: &Request<'_>,
    member: &Member,
    created: bool,
    changes: &[Change],
    response: &Applied,
) -> Vec<Event> {
    let xprofile = Some(member.xprofile());
    let event = |name: EventName, extra: Value| {
        let mut data = json!({"user_id": member.user_id, "incoming_webhook_id": req.webhook.id, "user": member.public()});
        if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        Event::new(name, data, Some(member.user_id), xprofile.clone())
    };
    let mut out = Vec::new();
    if created {
        out.push(event(names::USER_REGISTERED, json!({})));
    }
    // Removals first, then additions, spaces before courses (the order of the seeds).
    for kind in Kind::ALL {
        let id_field = format!("{}_id", kind.noun());
        let of_kind = || changes.iter().filter(move |c| c.membership.kind == kind);
        for c in of_kind().filter(|c| matches!(c.op, Op::Remove { .. })) {
            let name = match kind {
                Kind::Space => names::SPACE_MEMBER_LEFT,
                Kind::Course => names::COURSE_UNENROLLED,
            };
            out.push(event(name, json!({ id_field.clone(): c.membership.id })));
        }
        for c in of_kind().filter(|c| c.op == Op::Add) {
            let name = match kind {
                Kind::Space => names::SPACE_MEMBER_JOINED,
                Kind::Course => names::COURSE_ENROLLED,
            };
            out.push(event(name, json!({ id_field.clone(): c.membership.id })));
        }
    }
    out.push(event(
        names::INCOMING_WEBHOOK_PROCESSED,
        json!({"email": req.email, "created": created, "spaces": response.spaces, "courses": response.courses}),
    ));
    out
}
