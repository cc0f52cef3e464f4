//! Time helpers: RFC 3339 UTC everywhere.

use jiff::Timestamp;

pub fn now() -> Timestamp {
    Timestamp::now()
}

/// RFC 3339 UTC with second precision, e.g. `2024-01-15T10:30:00Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn now_rfc3339() -> String {
    rfc3339(now())
}

/// How long the logs are kept (`LOG_RETENTION_DAYS`, at least one day): the store is given it
/// once, and dates every log item it writes with it (DynamoDB TTL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    days: i64,
}

impl Retention {
    pub fn days(days: i64) -> Self {
        Self { days: days.max(1) }
    }

    /// The `expires_at` (Unix seconds, DynamoDB's TTL) of an item written at `now`.
    pub fn expires_at(self, now: Timestamp) -> i64 {
        now.as_second() + self.days * 86_400
    }

    /// The oldest creation time still within the retention at `now`.
    pub fn oldest_kept(self, now: Timestamp) -> Timestamp {
        now - jiff::SignedDuration::from_hours(24 * self.days)
    }
}

/// A new ULID: millisecond timestamp + 80 random bits (sortable by creation time).
pub fn new_ulid() -> ulid::Ulid {
    let ms = u64::try_from(now().as_millisecond()).unwrap_or(0);
    ulid::Ulid::from_parts(ms, rand::random::<u128>() & ((1u128 << 80) - 1))
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    #[test]
    fn retention_is_at_least_a_day() {
        let now: Timestamp = "2026-12-04T02:00:00Z".parse().unwrap();
        let week = Retention::days(7);
        assert_eq!(week.expires_at(now), now.as_second() + 7 * 86_400);
        assert_eq!(
            week.oldest_kept(now),
            "2026-11-27T02:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(Retention::days(0), Retention::days(1));
        assert_eq!(
            Retention::days(-3).expires_at(now),
            now.as_second() + 86_400
        );
    }
}
