//! The order of provider events: the last one applied to each provider object, so an older
//! event arriving late changes nothing.

use serde::{Deserialize, Serialize};

use super::Action;

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
