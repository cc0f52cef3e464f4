//! Timed access: the memberships whose grants have ended
//! (docs/reference/providers.md#timed-access).

use serde_json::json;

use super::{Change, Op};
use crate::events::{names, Event};
use crate::membership::{Kind, MemberState};

/// Timed access at `now`: each membership whose every grant has ended is removed
/// (with `space.member_left` / `course.unenrolled`, `reason: "expired"`); one with some ended
/// grants keeps the others. Each change comes with its event.
pub fn expire(state: &MemberState, now: jiff::Timestamp) -> Vec<(Change, Option<Event>)> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        for m in state.of(kind).values() {
            let change = match m.without_expired(now) {
                None => Change {
                    op: Op::Remove { rev: Some(m.rev) },
                    membership: m.clone(),
                },
                Some(kept) if kept.rev != m.rev => Change {
                    op: Op::Update { rev: m.rev },
                    membership: kept,
                },
                Some(_) => continue,
            };
            let event = match (&change.op, &state.member) {
                (Op::Remove { .. }, Some(member)) => {
                    let name = match kind {
                        Kind::Space => names::SPACE_MEMBER_LEFT,
                        Kind::Course => names::COURSE_UNENROLLED,
                    };
                    let data = json!({
                        "user_id": member.user_id,
                        format!("{}_id", kind.noun()): m.id,
                        "user": member.public(),
                        "reason": "expired",
                    });
                    Some(Event::new(
                        name,
                        data,
                        Some(member.user_id),
                        Some(member.xprofile()),
                    ))
                }
                _ => None,
            };
            out.push((change, event));
        }
    }
    out
}
