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

/// Unix seconds `days` from now, for DynamoDB TTL attributes.
pub fn ttl_after_days(days: i64) -> i64 {
    now().as_second() + days.max(1) * 86_400
}

/// A new ULID: millisecond timestamp + 80 random bits (sortable by creation time).
pub fn new_ulid() -> ulid::Ulid {
    let ms = u64::try_from(now().as_millisecond()).unwrap_or(0);
    ulid::Ulid::from_parts(ms, rand::random::<u128>() & ((1u128 << 80) - 1))
}
