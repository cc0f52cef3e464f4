use serde_json::{json, Value};

use super::*;
use crate::incoming::IncomingWebhook;

fn set(v: &[i64]) -> BTreeSet<i64> {
    v.iter().copied().collect()
}

fn webhook(v: Value) -> IncomingWebhook {
    let mut base = json!({"id": 7, "key": "k", "title": "t", "status": "active",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"});
    if let (Some(b), Some(extra)) = (base.as_object_mut(), v.as_object()) {
        b.extend(extra.clone());
    }
    serde_json::from_value(base).unwrap()
}

fn member(id: i64) -> Member {
    serde_json::from_value(json!({"user_id": id, "email": "a@b.co", "login": "a",
        "created_at": "2026-01-01T00:00:00Z"}))
    .unwrap()
}

fn request<'a>(w: &'a IncomingWebhook, intent: Intent) -> Request<'a> {
    Request {
        webhook: w,
        email: "a@b.co",
        intent,
        courses_enabled: true,
        source_ip: Some("203.0.113.9".into()),
        event: None,
        now: "2026-01-01T00:00:00Z".parse().unwrap(),
    }
}

/// A member state holding `spaces` (granted by webhook `by`, or by an admin when `None`).
fn holding(spaces: &[i64], by: Option<i64>, objects: &[&str]) -> MemberState {
    let mut st = MemberState {
        member: Some(member(42)),
        ..MemberState::default()
    };
    for id in spaces {
        let grant = Grant {
            by: if by.is_some() {
                GrantedBy::IncomingWebhook
            } else {
                GrantedBy::Admin
            },
            incoming_webhook_id: by,
            objects: objects.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
            at: jiff::Timestamp::UNIX_EPOCH,
        };
        st.spaces
            .insert(*id, Membership::new(Kind::Space, *id, &member(42), grant));
    }
    st
}

fn names(p: &Plan) -> Vec<&str> {
    p.events.iter().map(|e| e.event.as_str()).collect()
}

#[test]
fn remove_then_add() {
    let o = plan_memberships(&[1, 2, 3], &[3, 4, 5], &set(&[2, 4]), &set(&[1, 5]));
    assert_eq!(o.added, vec![3]);
    assert_eq!(o.removed, vec![4]);
    assert_eq!(o.skipped, vec![5, 1]);
    let idle = plan_memberships(&[2], &[4], &set(&[2]), &set(&[]));
    assert_eq!(idle, Outcome::default());
}

#[test]
fn new_member_joins_with_events_run_and_welcome() {
    let w = webhook(json!({"space_ids": [3], "course_ids": [7], "send_wp_welcome_email": true}));
    let state = MemberState::default();
    let cand = member(42);
    let st = State {
        member: &state,
        candidate: Some(&cand),
        missing: &BTreeSet::new(),
    };
    let p = plan(st, &request(&w, Intent::Form)).unwrap();
    assert!(p.created);
    assert_eq!(p.changes.len(), 2);
    assert!(p.changes.iter().all(|c| c.op == Op::Add));
    assert_eq!(
        names(&p),
        [
            "user.registered",
            "space.member_joined",
            "course.enrolled",
            "incoming_webhook.processed"
        ]
    );
    assert_eq!(p.events[1].data["space_id"], 3);
    assert_eq!(p.events[1].data["incoming_webhook_id"], 7);
    let body = p.response.body();
    assert_eq!(
        body["spaces"],
        json!({"added": [3], "removed": [], "skipped": []})
    );
    assert_eq!(body["welcome_email"], "sent");
    assert_eq!(body["created"], true);
    assert!(body.get("outcome").is_none());
    assert_eq!(p.run.outcome, RunOutcome::Success);
    assert_eq!(p.run.email.as_deref(), Some("a@b.co"));
    assert_eq!(p.run.source_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(p.run.spaces.added, vec![3]);
}

#[test]
fn existing_member_in_the_wanted_state_changes_nothing() {
    let w = webhook(json!({"space_ids": [3], "send_wp_welcome_email": true}));
    let state = holding(&[3], Some(7), &[]);
    let st = State {
        member: &state,
        candidate: None,
        missing: &BTreeSet::new(),
    };
    let p = plan(st, &request(&w, Intent::Form)).unwrap();
    assert!(!p.created);
    assert!(p.changes.is_empty());
    assert_eq!(names(&p), ["incoming_webhook.processed"]);
    assert_eq!(p.response.welcome_email, WelcomeEmail::ExistingUser);
    // Held through another granter: this webhook's grant is recorded, silently.
    let state = holding(&[3], None, &[]);
    let st = State {
        member: &state,
        candidate: None,
        missing: &BTreeSet::new(),
    };
    let p = plan(st, &request(&w, Intent::Form)).unwrap();
    assert_eq!(p.response.spaces, Outcome::default());
    assert_eq!(names(&p), ["incoming_webhook.processed"]);
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].op, Op::Update { rev: 1 });
    assert_eq!(p.changes[0].membership.grants.len(), 2);
}

#[test]
fn form_removes_whatever_granted_and_skips_missing() {
    let w = webhook(json!({"space_ids": [5], "remove_space_ids": [3, 4]}));
    let state = holding(&[3], None, &[]);
    let missing = [(Kind::Space, 5)].into_iter().collect();
    let st = State {
        member: &state,
        candidate: None,
        missing: &missing,
    };
    let p = plan(st, &request(&w, Intent::Form)).unwrap();
    assert_eq!(p.response.spaces.removed, vec![3]);
    assert_eq!(p.response.spaces.skipped, vec![5]);
    assert_eq!(p.changes[0].op, Op::Remove { rev: None });
    assert_eq!(
        names(&p),
        ["space.member_left", "incoming_webhook.processed"]
    );
    assert_eq!(p.response.welcome_email, WelcomeEmail::NotRequested);
}

#[test]
fn courses_only_with_the_module() {
    let w = webhook(json!({"course_ids": [7], "remove_course_ids": [8]}));
    let state = holding(&[], None, &[]);
    let st = State {
        member: &state,
        candidate: None,
        missing: &BTreeSet::new(),
    };
    let mut req = request(&w, Intent::Form);
    req.courses_enabled = false;
    let p = plan(st, &req).unwrap();
    assert_eq!(p.response.courses.skipped, vec![7, 8]);
    assert!(p.changes.is_empty());
}

#[test]
fn no_member_and_none_to_create_is_unresolved() {
    let w = webhook(json!({}));
    let state = MemberState::default();
    let st = State {
        member: &state,
        candidate: None,
        missing: &BTreeSet::new(),
    };
    assert_eq!(
        plan(st, &request(&w, Intent::Form)).unwrap_err(),
        Unplanned::Unresolved
    );
    let cand = member(1);
    let st = State {
        candidate: Some(&cand),
        ..st
    };
    let revoke = Intent::Revoke { objects: vec![] };
    assert!(plan(st, &request(&w, revoke)).is_err());
}

#[test]
fn grants_add_a_provenance_to_existing_memberships() {
    let w = webhook(json!({}));
    let state = holding(&[3], None, &[]);
    let st = State {
        member: &state,
        candidate: None,
        missing: &BTreeSet::new(),
    };
    let intent = Intent::Grant {
        spaces: vec![3, 4],
        courses: vec![],
        objects: vec!["stripe:cs_1".into()],
        expires_at: None,
    };
    let p = plan(st, &request(&w, intent)).unwrap();
    assert_eq!(p.response.spaces.added, vec![4]);
    assert_eq!(p.response.outcome, Some("granted"));
    let update = p.changes.iter().find(|c| c.membership.id == 3).unwrap();
    assert_eq!(update.op, Op::Update { rev: 1 });
    assert_eq!(update.membership.grants.len(), 2);
    assert_eq!(
        names(&p),
        ["space.member_joined", "incoming_webhook.processed"]
    );
}

#[test]
fn revokes_remove_only_this_webhooks_grants_for_linked_objects() {
    let w = webhook(json!({}));
    let mut state = holding(&[3, 4], Some(7), &["stripe:cs_1", "stripe:sub_1"]);
    // Space 4 is also held by an admin grant; space 5 by another purchase.
    if let Some(m) = state.spaces.get_mut(&4) {
        m.grants.push(Grant {
            by: GrantedBy::Admin,
            incoming_webhook_id: None,
            objects: vec![],
            at: jiff::Timestamp::UNIX_EPOCH,
            expires_at: None,
        });
    }
    let other = holding(&[5], Some(7), &["stripe:cs_2"]);
    state.spaces.extend(other.spaces);
    let st = State {
        member: &state,
        candidate: None,
        missing: &BTreeSet::new(),
    };
    let revoke = Intent::Revoke {
        objects: vec!["stripe:sub_1".into()],
    };
    let p = plan(st, &request(&w, revoke)).unwrap();
    assert_eq!(p.response.spaces.removed, vec![3]);
    assert_eq!(p.response.outcome, Some("revoked"));
    let kept = p.changes.iter().find(|c| c.membership.id == 4).unwrap();
    assert_eq!(kept.op, Op::Update { rev: 1 });
    assert_eq!(kept.membership.grants[0].by, GrantedBy::Admin);
    assert!(!p.changes.iter().any(|c| c.membership.id == 5));
    assert_eq!(
        names(&p),
        ["space.member_left", "incoming_webhook.processed"]
    );
    // Another webhook's revoke touches nothing; a revoke naming no object takes all of ours.
    let other_hook = webhook(json!({"id": 8}));
    let p = plan(
        st,
        &request(&other_hook, Intent::Revoke { objects: vec![] }),
    )
    .unwrap();
    assert!(p.changes.is_empty());
    let p = plan(st, &request(&w, Intent::Revoke { objects: vec![] })).unwrap();
    assert_eq!(p.response.spaces.removed, vec![3, 5]);
}

#[test]
fn expiry_drops_ended_grants_and_keeps_other_holders() {
    let grant = |by: GrantedBy, ends: Option<&str>| Grant {
        by,
        incoming_webhook_id: (by == GrantedBy::IncomingWebhook).then_some(7),
        objects: vec![],
        at: "2026-01-01T00:00:00Z".parse().unwrap(),
        expires_at: ends.map(|e| e.parse().unwrap()),
    };
    let mut state = holding(&[1, 2, 3], Some(7), &[]);
    let put_grants = |st: &mut MemberState, id: i64, grants: Vec<Grant>| {
        if let Some(m) = st.spaces.get_mut(&id) {
            m.grants = grants;
        }
    };
    // 1: one ended grant → removed; 2: ended + admin → kept without the ended one;
    // 3: a grant that has not ended → untouched.
    put_grants(
        &mut state,
        1,
        vec![grant(
            GrantedBy::IncomingWebhook,
            Some("2026-02-01T00:00:00Z"),
        )],
    );
    put_grants(
        &mut state,
        2,
        vec![
            grant(GrantedBy::IncomingWebhook, Some("2026-02-01T00:00:00Z")),
            grant(GrantedBy::Admin, None),
        ],
    );
    put_grants(
        &mut state,
        3,
        vec![grant(
            GrantedBy::IncomingWebhook,
            Some("2027-01-01T00:00:00Z"),
        )],
    );
    assert_eq!(
        state.spaces[&2].next_grant_end(),
        Some("2026-02-01T00:00:00Z".parse().unwrap())
    );
    let out = expire(&state, "2026-03-01T00:00:00Z".parse().unwrap());
    assert_eq!(out.len(), 2);
    let (removed, event) = &out[0];
    assert!(matches!(removed.op, Op::Remove { .. }));
    assert_eq!(removed.membership.id, 1);
    let event = event.as_ref().unwrap();
    assert_eq!(event.event, "space.member_left");
    assert_eq!(event.data["reason"], "expired");
    let (kept, event) = &out[1];
    assert_eq!(kept.membership.id, 2);
    assert!(matches!(kept.op, Op::Update { .. }));
    assert_eq!(kept.membership.grants.len(), 1);
    assert_eq!(kept.membership.grants[0].by, GrantedBy::Admin);
    assert!(event.is_none());
    assert!(expire(&state, "2026-01-15T00:00:00Z".parse().unwrap()).is_empty());
}
