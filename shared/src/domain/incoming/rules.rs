//! What a provider event does (`rules`) and what a purchase grants (`products`), SPEC §4.4.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::providers::{ProviderEvent, Source};
use super::{id_list, MAX_IDS_PER_LIST};
use crate::error::{Error, Result};

/// Most rules and products one webhook may hold (bounded items, bounded evaluation).
pub const MAX_RULES: usize = 50;
pub const MAX_PRODUCTS: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Grant,
    Revoke,
    Ignore,
}

/// How long a grant lasts (timed access): `{"days": N}` from the event, or `"period_end"`: until
/// the subscription period the event names ends (Stripe `current_period_end`, Paddle
/// `current_billing_period.ends_at`, Lemon Squeezy `renews_at`/`ends_at`). Without it a grant
/// lasts until revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    PeriodEnd,
    #[serde(untagged)]
    Days {
        days: u32,
    },
}

/// Longest timed access, in days (ten years).
pub const MAX_ACCESS_DAYS: u32 = 3650;

impl Access {
    /// When a grant made at `now` (Unix seconds) by event `ev` ends; `None`: it does not
    /// (`period_end` on an event that names no period).
    pub fn expires_at(self, now: i64, ev: &ProviderEvent) -> Option<i64> {
        match self {
            Access::Days { days } => Some(now + i64::from(days) * 86_400),
            Access::PeriodEnd => ev.period_end,
        }
    }
}

/// `event` (or `*`) and, when given, the event's status field → `action` (and, for grants, how
/// long the access lasts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
}

fn rule(event: &str, status: Option<&str>, action: Action) -> Rule {
    Rule {
        event: event.into(),
        status: status.map(str::to_string),
        action,
        access: None,
    }
}

/// What the rules say about one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// Why nothing is done (for `ignore`).
    pub reason: Option<String>,
    /// The matched grant rule's timed access.
    pub access: Option<Access>,
}

/// The defaults of SPEC §4.4: grant on a completed purchase, revoke when access ends.
pub fn defaults(source: Source) -> Vec<Rule> {
    use Action::{Grant, Revoke};
    match source {
        Source::Stripe => vec![
            rule("checkout.session.completed", Some("paid"), Grant),
            rule("customer.subscription.deleted", None, Revoke),
            rule("charge.refunded", None, Revoke),
        ],
        Source::Shopify => vec![
            rule("orders/paid", None, Grant),
            rule("orders/cancelled", None, Revoke),
        ],
        Source::Woocommerce => vec![
            rule("order.created", Some("processing"), Grant),
            rule("order.created", Some("completed"), Grant),
            rule("order.updated", Some("processing"), Grant),
            rule("order.updated", Some("completed"), Grant),
            rule("*", Some("refunded"), Revoke),
            rule("*", Some("cancelled"), Revoke),
        ],
        Source::Paddle => vec![
            rule("transaction.completed", None, Grant),
            rule("subscription.canceled", None, Revoke),
        ],
        Source::Lemonsqueezy => vec![
            rule("order_created", Some("paid"), Grant),
            rule("order_refunded", None, Revoke),
            rule("subscription_expired", None, Revoke),
        ],
        Source::Gumroad => vec![
            rule("sale", None, Grant),
            rule("refund", None, Revoke),
            rule("subscription_ended", None, Revoke),
        ],
        Source::Typeform => vec![rule("form_response", None, Grant)],
        Source::Form | Source::StandardWebhooks => vec![],
    }
}

/// The first rule matching the event, or why none did.
pub fn decide(rules: &[Rule], ev: &ProviderEvent) -> Decision {
    let hit = rules.iter().find(|r| {
        (r.event == "*" || r.event == ev.kind)
            && r.status
                .as_ref()
                .is_none_or(|s| ev.status.as_deref() == Some(s.as_str()))
    });
    let (action, reason) = match hit {
        Some(r) if r.action == Action::Ignore => (
            Action::Ignore,
            Some(format!("a rule ignores '{}'", ev.kind)),
        ),
        Some(r) => (r.action, None),
        None => (
            Action::Ignore,
            Some(match &ev.status {
                Some(s) => format!("no rule for event '{}' with status '{s}'", ev.kind),
                None => format!("no rule for event '{}'", ev.kind),
            }),
        ),
    };
    Decision {
        action,
        reason,
        access: hit
            .filter(|r| r.action == Action::Grant)
            .and_then(|r| r.access),
    }
}

/// A provider id (`match`) and the spaces and courses it grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    #[serde(rename = "match")]
    pub match_id: String,
    #[serde(default)]
    pub space_ids: Vec<i64>,
    #[serde(default)]
    pub course_ids: Vec<i64>,
}

/// What a purchase grants: with `products`, the union of the entries it matches (`None` when
/// it matches none); without, the webhook's add lists.
pub fn targets(
    products: &[Product],
    ev: &ProviderEvent,
    space_ids: &[i64],
    course_ids: &[i64],
) -> Option<(Vec<i64>, Vec<i64>)> {
    if products.is_empty() {
        return Some((space_ids.to_vec(), course_ids.to_vec()));
    }
    let hits: Vec<&Product> = products
        .iter()
        .filter(|p| ev.products.contains(&p.match_id))
        .collect();
    if hits.is_empty() {
        return None;
    }
    let mut spaces = Vec::new();
    let mut courses = Vec::new();
    for p in hits {
        for id in &p.space_ids {
            if !spaces.contains(id) {
                spaces.push(*id);
            }
        }
        for id in &p.course_ids {
            if !courses.contains(id) {
                courses.push(*id);
            }
        }
    }
    Some((spaces, courses))
}

fn bounded_string(v: Option<&Value>, field: &str, max: usize) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.trim().chars().count() <= max => {
            Ok(Some(s.trim().to_string()))
        }
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        Some(_) => Err(Error::invalid(
            field,
            format!("must be a non-empty string of at most {max} characters"),
        )),
    }
}

fn array<'a>(v: &'a Value, field: &str, max: usize) -> Result<Option<&'a Vec<Value>>> {
    match v {
        Value::Null => Ok(None),
        Value::Array(a) if a.len() <= max => Ok(Some(a)),
        Value::Array(_) => Err(Error::invalid(field, format!("at most {max} entries"))),
        _ => Err(Error::invalid(field, "must be an array")),
    }
}

/// Validates `rules`: `[{"event": "...", "status": "..."?, "action": "grant|revoke|ignore",
/// "access": {"days": N} | "period_end"?}]` (`access` only on grants).
pub fn rules_from_json(v: &Value) -> Result<Option<Vec<Rule>>> {
    let Some(items) = array(v, "rules", MAX_RULES)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = |f: &str| format!("rules[{i}].{f}");
        let obj = item
            .as_object()
            .ok_or_else(|| Error::invalid("rules", format!("entry {i} must be an object")))?;
        if let Some(k) = obj
            .keys()
            .find(|k| !["event", "status", "action", "access"].contains(&k.as_str()))
        {
            return Err(Error::invalid(&field(k), "is not a rule field"));
        }
        let event = bounded_string(obj.get("event"), &field("event"), 100)?
            .ok_or_else(|| Error::invalid(&field("event"), "is required"))?;
        let status = bounded_string(obj.get("status"), &field("status"), 50)?;
        let action = obj
            .get("action")
            .and_then(|a| serde_json::from_value::<Action>(a.clone()).ok())
            .ok_or_else(|| Error::invalid(&field("action"), "must be grant, revoke or ignore"))?;
        let access = match obj.get("access") {
            None | Some(Value::Null) => None,
            Some(a) => match serde_json::from_value::<Access>(a.clone()) {
                Ok(Access::Days { days }) if !(1..=MAX_ACCESS_DAYS).contains(&days) => {
                    return Err(Error::invalid(
                        &field("access"),
                        format!("days must be 1 to {MAX_ACCESS_DAYS}"),
                    ))
                }
                Ok(_) if action != Action::Grant => {
                    return Err(Error::invalid(
                        &field("access"),
                        "only grant rules have access",
                    ))
                }
                Ok(a) => Some(a),
                Err(_) => {
                    return Err(Error::invalid(
                        &field("access"),
                        "must be {\"days\": N} or \"period_end\"",
                    ))
                }
            },
        };
        out.push(Rule {
            event,
            status,
            action,
            access,
        });
    }
    Ok(Some(out))
}

/// Validates `products`; the union of their spaces (and of their courses) stays within one
/// list's bound, so a purchase matching every entry still fits one transaction.
pub fn products_from_json(v: &Value) -> Result<Option<Vec<Product>>> {
    let Some(items) = array(v, "products", MAX_PRODUCTS)? else {
        return Ok(Some(vec![]));
    };
    let mut out: Vec<Product> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = |f: &str| format!("products[{i}].{f}");
        let obj: &Map<String, Value> = item
            .as_object()
            .ok_or_else(|| Error::invalid("products", format!("entry {i} must be an object")))?;
        if let Some(k) = obj
            .keys()
            .find(|k| !["match", "space_ids", "course_ids"].contains(&k.as_str()))
        {
            return Err(Error::invalid(&field(k), "is not a product field"));
        }
        let match_id = bounded_string(obj.get("match"), &field("match"), 200)?
            .ok_or_else(|| Error::invalid(&field("match"), "is required"))?;
        if out.iter().any(|p| p.match_id == match_id) {
            return Err(Error::invalid(&field("match"), "is listed twice"));
        }
        let lists = |name: &str| -> Result<Vec<i64>> {
            id_list(obj, name)
                .map(Option::unwrap_or_default)
                .map_err(|_| {
                    Error::invalid(
                        &field(name),
                        "must be an array of positive integer ids (at most 20)",
                    )
                })
        };
        out.push(Product {
            match_id,
            space_ids: lists("space_ids")?,
            course_ids: lists("course_ids")?,
        });
    }
    for (name, pick) in [
        (
            "space_ids",
            (|p: &Product| p.space_ids.clone()) as fn(&Product) -> Vec<i64>,
        ),
        ("course_ids", |p: &Product| p.course_ids.clone()),
    ] {
        let all: BTreeSet<i64> = out.iter().flat_map(pick).collect();
        if all.len() > MAX_IDS_PER_LIST {
            return Err(Error::invalid(
                "products",
                format!("at most {MAX_IDS_PER_LIST} distinct {name} across all products"),
            ));
        }
    }
    Ok(Some(out))
}

/// The last event applied to one provider object (order, subscription, checkout, payment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectState {
    pub object: String,
    /// The provider's time of that event (Unix seconds).
    pub at: i64,
    pub action: Action,
    /// Optimistic-lock token (0: never written).
    #[serde(default)]
    pub rev: i64,
}

/// The object for which an event newer than one at `at` was already applied (at the same
/// time, a revoke outranks a grant), if any: such an event changes nothing.
pub fn stale(seen: &[ObjectState], at: i64, action: Action) -> Option<String> {
    seen.iter()
        .find(|s| {
            s.at > at || (s.at == at && s.action == Action::Revoke && action == Action::Grant)
        })
        .map(|s| s.object.clone())
}

/// The states to write once an event at `at` is applied: each named object with its new time,
/// and the revision it was read at (0: absent).
pub fn next_states(
    seen: &[ObjectState],
    objects: &[String],
    at: i64,
    action: Action,
) -> Vec<(ObjectState, i64)> {
    objects
        .iter()
        .map(|o| {
            let prev = seen.iter().find(|s| s.object == *o).map_or(0, |s| s.rev);
            let state = ObjectState {
                object: o.clone(),
                at,
                action,
                rev: prev + 1,
            };
            (state, prev)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
