//! Silence alerts (docs/reference/incoming.md#silence-alerts): when an incoming webhook with
//! `expect_every_hours` got no accepted call for that long, the operator hears of it once, and once
//! more when calls resume.
//!
//! The due time of a webhook is its last accepted call (or, before the first one, the time the
//! setting was saved) plus `expect_every_hours`, rounded **up** to a [`BUCKET_SECS`] boundary.
//! The rounding is what keeps the accepted-call path cheap: every call sets the due key on the
//! item it already updates (no extra round trip), and as long as the rounded value does not
//! change, DynamoDB writes nothing to the keys-only index. A webhook called continuously moves
//! its index entry at most once per bucket.

use jiff::Timestamp;

use crate::error::{Error, Result};

/// Granularity of the due time: an alert comes at most this much (plus one sweep) late.
pub const BUCKET_SECS: i64 = 15 * 60;

/// Bounds of `expect_every_hours`.
pub const MIN_HOURS: i64 = 1;
pub const MAX_HOURS: i64 = 720;

/// How many silences and resumptions one sweep handles at most (each kind).
pub const MAX_PER_SWEEP: i32 = 25;

/// The due time for a webhook last called (or configured) at `last`: `last + hours`, rounded up
/// to the next bucket boundary.
pub fn due_at(last: Timestamp, hours: u16) -> Timestamp {
    let due = last.as_second() + i64::from(hours) * 3600;
    let rounded = due.div_euclid(BUCKET_SECS) * BUCKET_SECS;
    let rounded = if rounded < due {
        rounded + BUCKET_SECS
    } else {
        rounded
    };
    Timestamp::from_second(rounded).unwrap_or(last)
}

/// The due time as the index sorts it (RFC 3339 UTC, second precision: sorts as time).
pub fn due_key(last: Timestamp, hours: u16) -> String {
    crate::time::rfc3339(due_at(last, hours))
}

/// Reads `expect_every_hours` from admin input: an integer 1–720, or `null` to turn it off.
pub fn parse_hours(v: &serde_json::Value) -> Result<Option<u16>> {
    if v.is_null() {
        return Ok(None);
    }
    v.as_i64()
        .filter(|h| (MIN_HOURS..=MAX_HOURS).contains(h))
        .and_then(|h| u16::try_from(h).ok())
        .map(Some)
        .ok_or_else(|| {
            Error::invalid(
                "expect_every_hours",
                format!("must be an integer from {MIN_HOURS} to {MAX_HOURS}, or null"),
            )
        })
}

/// Whether a silent webhook was called again: an accepted call after the one the alert named.
pub fn resumed(last_run_at: Option<Timestamp>, silent_last_call_at: Option<Timestamp>) -> bool {
    match (last_run_at, silent_last_call_at) {
        (Some(now), Some(then)) => now > then,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn due_is_rounded_up_to_the_bucket() {
        assert_eq!(
            due_key(ts("2026-01-01T10:00:00Z"), 2),
            "2026-01-01T12:00:00Z"
        );
        assert_eq!(
            due_key(ts("2026-01-01T10:00:01Z"), 2),
            "2026-01-01T12:15:00Z"
        );
        assert_eq!(
            due_key(ts("2026-01-01T10:14:59Z"), 1),
            "2026-01-01T11:15:00Z"
        );
        // Calls within one bucket keep the same key: the index is not written again.
        assert_eq!(
            due_key(ts("2026-01-01T10:01:00Z"), 24),
            due_key(ts("2026-01-01T10:14:00Z"), 24)
        );
        // Never earlier than promised.
        let last = ts("2026-03-05T07:31:12Z");
        assert!(due_at(last, 3).as_second() >= last.as_second() + 3 * 3600);
        assert!(due_at(last, 3).as_second() < last.as_second() + 3 * 3600 + BUCKET_SECS);
    }

    #[test]
    fn hours_are_validated() {
        assert_eq!(parse_hours(&json!(1)).unwrap(), Some(1));
        assert_eq!(parse_hours(&json!(720)).unwrap(), Some(720));
        assert_eq!(parse_hours(&json!(null)).unwrap(), None);
        for bad in [
            json!(0),
            json!(721),
            json!(1.5),
            json!("24"),
            json!(-1),
            json!([]),
        ] {
            assert!(parse_hours(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resumption_needs_a_later_call() {
        let at = Some(ts("2026-01-01T10:00:00Z"));
        assert!(!resumed(at, at));
        assert!(resumed(Some(ts("2026-01-01T10:00:01Z")), at));
        assert!(resumed(at, None));
        assert!(!resumed(None, None));
    }
}
