use serde_json::{json, Value};

use super::*;
use crate::error::Error;

fn ev(kind: &str, status: Option<&str>, products: &[&str]) -> ProviderEvent {
    ProviderEvent {
        kind: kind.into(),
        status: status.map(str::to_string),
        products: products.iter().map(|p| p.to_string()).collect(),
        ..ProviderEvent::default()
    }
}

#[test]
fn defaults_follow_access_ended() {
    let stripe = defaults(Source::Stripe);
    let paid = ev("checkout.session.completed", Some("paid"), &[]);
    assert_eq!(decide(&stripe, &paid).action, Action::Grant);
    let unpaid = ev("checkout.session.completed", Some("unpaid"), &[]);
    let Decision { action, reason, .. } = decide(&stripe, &unpaid);
    assert_eq!(action, Action::Ignore);
    assert!(reason.unwrap().contains("unpaid"));
    let updated = ev("customer.subscription.updated", None, &[]);
    assert_eq!(decide(&stripe, &updated).action, Action::Ignore);
    let lemon = defaults(Source::Lemonsqueezy);
    assert_eq!(
        decide(&lemon, &ev("subscription_cancelled", None, &[])).action,
        Action::Ignore
    );
    assert_eq!(
        decide(&lemon, &ev("subscription_expired", None, &[])).action,
        Action::Revoke
    );
    let gumroad = defaults(Source::Gumroad);
    assert_eq!(
        decide(&gumroad, &ev("cancellation", None, &[])).action,
        Action::Ignore
    );
    assert_eq!(
        decide(&gumroad, &ev("subscription_ended", None, &[])).action,
        Action::Revoke
    );
    let ignore = vec![Rule {
        event: "*".into(),
        status: None,
        action: Action::Ignore,
        access: None,
    }];
    assert_eq!(decide(&ignore, &paid).action, Action::Ignore);
}

#[test]
fn products_grant_only_what_matches() {
    let products = vec![
        Product {
            match_id: "price_A".into(),
            space_ids: vec![1],
            course_ids: vec![],
        },
        Product {
            match_id: "price_B".into(),
            space_ids: vec![2, 1],
            course_ids: vec![9],
        },
    ];
    let e = ev("x", None, &["price_B", "prod_Z"]);
    assert_eq!(
        targets(&products, &e, &[5], &[]),
        Some((vec![2, 1], vec![9]))
    );
    assert_eq!(
        targets(&products, &ev("x", None, &["other"]), &[5], &[]),
        None
    );
    assert_eq!(targets(&[], &e, &[5], &[6]), Some((vec![5], vec![6])));
}

#[test]
fn newer_events_win() {
    let seen = vec![ObjectState {
        object: "stripe:pi_1".into(),
        at: 200,
        action: Action::Revoke,
        rev: 3,
    }];
    assert_eq!(
        stale(&seen, 100, Action::Grant).as_deref(),
        Some("stripe:pi_1")
    );
    assert_eq!(
        stale(&seen, 200, Action::Grant).as_deref(),
        Some("stripe:pi_1")
    );
    assert_eq!(stale(&seen, 200, Action::Revoke), None);
    assert_eq!(stale(&seen, 300, Action::Grant), None);
    let next = next_states(
        &seen,
        &["stripe:pi_1".into(), "stripe:cs_1".into()],
        300,
        Action::Grant,
    );
    assert_eq!(next[0].1, 3);
    assert_eq!(next[0].0.rev, 4);
    assert_eq!(next[1].1, 0);
}

#[test]
fn validation_names_the_field() {
    let field = |e: Error| e.to_string();
    let bad = rules_from_json(&json!([{"event": "x", "action": "maybe"}])).unwrap_err();
    assert!(field(bad).contains("rules[0].action"));
    let bad = rules_from_json(&json!([{"event": "", "action": "grant"}])).unwrap_err();
    assert!(field(bad).contains("rules[0].event"));
    assert!(rules_from_json(&json!("x")).is_err());
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"event": format!("e{i}"), "action": "grant"}))
        .collect();
    assert!(rules_from_json(&Value::Array(many)).is_err());
    let ok = rules_from_json(
        &json!([{"event": "order.updated", "status": "completed", "action": "grant"}]),
    )
    .unwrap();
    assert_eq!(ok.unwrap()[0].status.as_deref(), Some("completed"));
    let p = products_from_json(&json!([{"match": 820982911946154508u64, "space_ids": [1]}]))
        .unwrap()
        .unwrap();
    assert_eq!(p[0].match_id, "820982911946154508");
    let bad = products_from_json(&json!([{"match": "a", "space_ids": "1"}])).unwrap_err();
    assert!(field(bad).contains("products[0].space_ids"));
    let bad = products_from_json(&json!([{"space_ids": [1]}])).unwrap_err();
    assert!(field(bad).contains("products[0].match"));
    let wide: Vec<Value> = (0..3).map(|i| json!({"match": format!("m{i}"), "space_ids": (1..=10).map(|s| s + i * 10).collect::<Vec<i64>>()})).collect();
    assert!(products_from_json(&Value::Array(wide)).is_err());
}

#[test]
fn timed_access_counts_days_from_the_event() {
    let days = Access::Days { days: 30 };
    let now = 1_800_000_000;
    let mut e = ev("checkout.session.completed", Some("paid"), &[]);
    assert_eq!(days.expires_at(now, &e), Some(now + 30 * 86_400), "no time");
    e.occurred_at = Some(now - 5);
    assert_eq!(days.expires_at(now, &e), Some(now - 5 + 30 * 86_400));
    e.occurred_at = Some(now + 3_600);
    assert_eq!(days.expires_at(now, &e), Some(now + 30 * 86_400), "future");
    e.period_end = Some(now + 7);
    assert_eq!(Access::PeriodEnd.expires_at(now, &e), Some(now + 7));
}
