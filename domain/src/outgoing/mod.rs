//! Outgoing webhooks: an endpoint's configuration and the state its deliveries keep
//! (docs/reference/outgoing.md#endpoints). Admin input is [`patch`], the signed request of one
//! attempt [`signing`], the schedule of retries [`retry`]; where deliveries may go is
//! [`super::egress`].

pub mod filter;
pub mod patch;
pub mod rate;
pub mod retry;
pub mod signing;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::events::{EventName, EventPattern};
use super::format::Destination;

/// An endpoint's configuration (what admins edit).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct OutgoingConfig {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub events: Vec<EventPattern>,
    pub secret: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub retry_count: u32,
    #[serde(with = "crate::time::wire")]
    pub created_at: jiff::Timestamp,
    #[serde(with = "crate::time::wire")]
    pub updated_at: jiff::Timestamp,
    #[serde(default)]
    pub revision: i64,
    /// `none` (default) or `fifo` (docs/reference/outgoing.md#fifo-endpoints).
    #[serde(default)]
    pub ordering: Ordering,
    /// The body format (docs/reference/formats.md).
    #[serde(default)]
    pub destination: Destination,
    /// Which subscribed events it receives (docs/reference/outgoing.md#publishing-events); `None`:
    /// all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<filter::Filter>,
    /// Deliveries per second at most (docs/reference/outgoing.md#pause-and-throttle); `None`:
    /// unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// The secret the last rotation replaced, still signing beside the new one for its overlap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<PreviousSecret>,
}

/// A rotated-away secret and the end of its overlap
/// (docs/reference/outgoing.md#filters-and-secret-rotation).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct PreviousSecret {
    pub secret: String,
    /// The first instant it no longer signs (RFC 3339 UTC on the wire).
    pub until: jiff::Timestamp,
}

crate::redact::redacted_debug!(PreviousSecret);

/// The longest overlap a rotation may ask for (7 days) and the default one (24 h).
pub const MAX_OVERLAP_SECONDS: i64 = 7 * 86_400;
pub const DEFAULT_OVERLAP_SECONDS: i64 = 86_400;

impl OutgoingConfig {
    /// Rotation: `new` signs from now on; the secret it replaces keeps signing beside it for
    /// `overlap_seconds` (at most one previous secret: a rotation during an overlap drops the
    /// oldest; `0` ends every overlap at once).
    pub fn rotate(&mut self, new: String, overlap_seconds: i64, now: jiff::Timestamp) {
        let old = std::mem::replace(&mut self.secret, new);
        self.previous_secret = (overlap_seconds > 0).then(|| PreviousSecret {
            secret: old,
            until: now + jiff::SignedDuration::from_secs(overlap_seconds),
        });
    }

    /// The previous secret, if it still signs at `unix` seconds.
    pub fn overlapping_secret(&self, unix: i64) -> Option<&PreviousSecret> {
        self.previous_secret
            .as_ref()
            .filter(|p| unix < p.until.as_second())
    }
}

/// How an endpoint's deliveries are sequenced.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// Every delivery is sent as soon as its event is fanned out (concurrently).
    #[default]
    None,
    /// One at a time, in publish order; a failing delivery holds the line.
    Fifo,
}

// The signing secret and custom header values read `[redacted]`.
crate::redact::redacted_debug!(OutgoingConfig);

crate::wire_enum! {
    #[wire = "lowercase"]
    /// An endpoint's state: `active`, `inactive` (events not delivered, not kept) or `paused`
    /// (deliveries kept `held` until it is active again) as an admin sets it, `failed` when
    /// deliveries disabled it (`410`, or too many failures in a row).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum OutgoingStatus {
        Active,
        Inactive,
        Paused,
        Failed,
    }
}

/// An endpoint with its delivery state (`status` is set by admins and by failures).
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingWebhook {
    pub config: OutgoingConfig,
    pub status: OutgoingStatus,
    pub last_triggered_at: Option<jiff::Timestamp>,
    pub last_error: Option<String>,
    pub consecutive_failures: i64,
    /// Re-activated after `failed`, waiting for its first successful delivery.
    pub recovering: bool,
}

impl OutgoingWebhook {
    pub fn id(&self) -> i64 {
        self.config.id
    }

    pub fn is_active(&self) -> bool {
        self.status == OutgoingStatus::Active
    }

    /// Paused: its deliveries are made `held`, and sent when it is active again.
    pub fn is_paused(&self) -> bool {
        self.status == OutgoingStatus::Paused
    }

    /// Whether a successful delivery at `now` must be written: it resets the failure count,
    /// ends a recovery, or `last_triggered_at` is older than [`TRIGGERED_GRANULARITY_SECS`]
    /// (kept coarse, so that a success after successes writes nothing).
    pub fn success_changes_health(&self, now: jiff::Timestamp) -> bool {
        let recent = self.last_triggered_at.is_some_and(|t| {
            (now - jiff::SignedDuration::from_secs(TRIGGERED_GRANULARITY_SECS)) < t
        });
        self.consecutive_failures != 0 || self.recovering || !recent
    }

    /// What the delivery state machine reads of it.
    pub fn health(&self) -> crate::delivery::machine::Health {
        crate::delivery::machine::Health {
            recovering: self.recovering,
            paused: self.is_paused(),
        }
    }

    pub fn is_fifo(&self) -> bool {
        self.config.ordering == Ordering::Fifo
    }

    pub fn subscribed(&self, event: EventName) -> bool {
        self.config.events.iter().any(|p| p.matches(event))
    }

    /// Whether its filter lets through a delivery whose payload
    /// (docs/reference/outgoing.md#the-delivery) `payload` builds; the payload is built only when
    /// there is a filter.
    pub fn passes(&self, payload: impl FnOnce() -> serde_json::Value) -> bool {
        self.config
            .filter
            .as_ref()
            .is_none_or(|f| f.matches(&payload()))
    }
}

/// How stale `last_triggered_at` may get before a success writes it again.
pub const TRIGGERED_GRANULARITY_SECS: i64 = 60;

#[cfg(test)]
mod status_tests {
    use super::OutgoingStatus;

    #[test]
    fn status_names_round_trip() {
        crate::wire::assert_names::<OutgoingStatus>(&["active", "inactive", "paused", "failed"]);
    }

    /// `previous_secret.until` is a typed timestamp written as before: RFC 3339 UTC, with
    /// fractional seconds only when it has some.
    #[test]
    fn typed_times_keep_their_wire_form() {
        for wire in ["2026-12-04T02:00:00Z", "2026-12-04T02:00:00.123456789Z"] {
            let p: super::PreviousSecret =
                serde_json::from_value(serde_json::json!({"secret": "s", "until": wire})).unwrap();
            assert_eq!(p.until, wire.parse::<jiff::Timestamp>().unwrap());
            assert_eq!(serde_json::to_value(&p).unwrap()["until"], wire);
        }
        let now: jiff::Timestamp = "2026-12-04T02:00:00.5Z".parse().unwrap();
        let mut cfg: super::OutgoingConfig = serde_json::from_value(serde_json::json!({
            "id": 1, "name": "n", "url": "https://x.example", "events": ["*"],
            "secret": "a", "retry_count": 3, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        }))
        .unwrap();
        cfg.rotate("b".into(), 60, now);
        let stored = serde_json::to_value(&cfg).unwrap();
        assert_eq!(stored["previous_secret"]["until"], "2026-12-04T02:01:00.5Z");
        assert!(cfg.overlapping_secret(now.as_second() + 59).is_some());
        assert!(cfg.overlapping_secret(now.as_second() + 61).is_none());
    }
}
