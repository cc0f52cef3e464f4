//! What a provider event does (`rules`) and what a purchase grants (`products`),
//! docs/reference/providers.md
//!
//! How long a grant lasts is in `access`, the order of events per provider object in
//! `objects`, and the validation of both lists in `parse`.

mod access;
mod objects;
mod parse;

pub use access::{Access, MAX_ACCESS_DAYS};
pub use objects::{next_states, stale, ObjectState};
pub use parse::{products_from_json, rules_from_json};

use serde::{Deserialize, Serialize};

use super::providers::{ProviderEvent, Source};

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

/// The defaults of docs/reference/providers.md: grant on a completed purchase, revoke when access
/// ends.
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

#[cfg(test)]
mod tests;
