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

/// Now, to the second: the precision every stored and served `_at` field has, so a value read
/// back equals the value written.
pub fn now_s() -> Timestamp {
    second(now())
}

/// `ts` to the second (sub-seconds dropped).
pub fn second(ts: Timestamp) -> Timestamp {
    Timestamp::from_second(ts.as_second()).unwrap_or(ts)
}

/// Serde for a typed `_at` field: written as [`rfc3339`] (`2024-01-15T10:30:00Z`, the wire form
/// of every timestamp in items and views), read from any RFC 3339 instant
/// (`#[serde(with = "crate::time::wire")]`; `wire::option` for an `Option`).
pub mod wire {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*ts))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }

    pub mod option {
        use jiff::Timestamp;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match ts {
                Some(ts) => super::serialize(ts, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            match <Option<std::borrow::Cow<'de, str>>>::deserialize(d)? {
                Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }
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
mod wire_tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Item {
        #[serde(with = "wire")]
        at: Timestamp,
        #[serde(default, with = "wire::option")]
        until: Option<Timestamp>,
    }

    #[test]
    fn timestamps_keep_their_wire_form() {
        let text = r#"{"at":"2024-01-15T10:30:00Z","until":null}"#;
        let item: Item = serde_json::from_str(text).unwrap();
        assert_eq!(
            item.at,
            "2024-01-15T10:30:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(serde_json::to_string(&item).unwrap(), text);
        // Sub-seconds are not written; a missing optional field reads as `None`.
        let precise: Timestamp = "2024-01-15T10:30:00.750Z".parse().unwrap();
        let json = serde_json::to_value(Item {
            at: precise,
            until: Some(precise),
        })
        .unwrap();
        assert_eq!(json["at"], "2024-01-15T10:30:00Z");
        assert_eq!(json["until"], "2024-01-15T10:30:00Z");
        let item: Item = serde_json::from_str(r#"{"at":"2024-01-15T11:30:00+01:00"}"#).unwrap();
        assert_eq!(item.at, second(precise));
        assert_eq!(item.until, None);
        assert!(serde_json::from_str::<Item>(r#"{"at":"yesterday"}"#).is_err());
    }
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
