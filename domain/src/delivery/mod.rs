//! A delivery: one per (event, endpoint), the exact body sent, every HTTP attempt, and where it
//! stands.

pub mod machine;

use crate::events::EventName;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

crate::wire_enum! {
    #[wire = "lowercase"]
    /// Where a delivery stands: waiting for an attempt (`pending`), kept while its endpoint is
    /// paused (`held`: sent when it is active again), delivered (`success`), or given up (`failed`:
    /// retries exhausted, `410`, or the endpoint disabled).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum DeliveryStatus {
        Pending,
        Held,
        Success,
        Failed,
    }
}

/// One HTTP attempt of a delivery.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Attempt {
    pub attempt: u32,
    #[serde(with = "crate::time::wire")]
    pub attempted_at: jiff::Timestamp,
    /// Sent headers; signatures and custom header values redacted.
    pub request_headers: BTreeMap<String, String>,
    pub response_code: Option<u16>,
    /// At most 1 KiB of the response body.
    pub response_body: String,
    /// Milliseconds until the response (or the error).
    pub response_time: u64,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: i64,
    pub event_id: String,
    pub event: EventName,
    pub status: DeliveryStatus,
    /// The exact body sent (and signed) on every attempt.
    pub payload: String,
    /// The body's content type when it is not `application/json` (template endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub attempts: Vec<Attempt>,
    #[serde(default, with = "crate::time::wire::option")]
    pub next_attempt_at: Option<jiff::Timestamp>,
    #[serde(with = "crate::time::wire")]
    pub created_at: jiff::Timestamp,
    /// Attempts ever made (the list keeps the latest [`MAX_ATTEMPTS_KEPT`]); only grows, so it
    /// guards every conditional save.
    #[serde(default)]
    pub attempt_count: usize,
}

/// Most attempts kept per delivery (redeliveries can add more; the oldest are dropped).
pub const MAX_ATTEMPTS_KEPT: usize = 25;

/// Most bytes of attempts (as stored, JSON) kept per delivery: with a body of at most ~150 KB
/// the record stays well under DynamoDB's 400 KB per item even when every attempt carries 20
/// long custom header names and a response excerpt of escaped control characters (~12 KB).
pub const MAX_ATTEMPT_BYTES_KEPT: usize = 200_000;

impl Delivery {
    /// The content type the body is sent with.
    pub fn content_type(&self) -> &str {
        self.content_type.as_deref().unwrap_or(crate::format::JSON)
    }

    pub fn last(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    /// Attempts ever made (older records only have the list).
    pub fn total_attempts(&self) -> usize {
        self.attempt_count.max(self.attempts.len())
    }

    /// Appends an attempt, keeping the newest [`MAX_ATTEMPTS_KEPT`], fewer when they would
    /// take more than [`MAX_ATTEMPT_BYTES_KEPT`] (the newest is always kept).
    pub fn push_attempt(&mut self, mut a: Attempt) {
        let total = self.total_attempts() + 1;
        a.attempt = u32::try_from(total).unwrap_or(u32::MAX);
        self.attempts.push(a);
        if self.attempts.len() > MAX_ATTEMPTS_KEPT {
            self.attempts.remove(0);
        }
        let mut bytes: usize = self.attempts.iter().map(stored_len).sum();
        while bytes > MAX_ATTEMPT_BYTES_KEPT && self.attempts.len() > 1 {
            bytes -= stored_len(&self.attempts.remove(0));
        }
        self.attempt_count = total;
    }
}

/// An attempt's length as stored (its JSON), counted without building it.
fn stored_len(a: &Attempt) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, a).map_or(usize::MAX / 2, |()| count.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        crate::wire::assert_names::<DeliveryStatus>(&["pending", "held", "success", "failed"]);
        assert!("done".parse::<DeliveryStatus>().is_err());
    }

    /// The largest attempt the sender and the admin API allow: 20 custom headers with the
    /// longest names, the standard headers, and a 1,024-character response excerpt of control
    /// characters (each stored as `\u00XX`).
    fn largest_attempt() -> Attempt {
        let mut request_headers: BTreeMap<String, String> = (0..20)
            .map(|i| (format!("{i:02}{}", "x".repeat(254)), "[redacted]".into()))
            .collect();
        for h in [
            "content-type",
            "user-agent",
            "webhook-id",
            "webhook-signature",
        ] {
            request_headers.insert(h.into(), "v".repeat(120));
        }
        Attempt {
            attempt: 1,
            attempted_at: "2026-12-02T06:00:00Z".parse().unwrap(),
            request_headers,
            response_code: Some(500),
            response_body: "\u{1}".repeat(1024),
            response_time: 30_000,
            error: Some("e".repeat(300)),
        }
    }

    #[test]
    fn attempts_kept_fit_one_item_with_the_largest_body() {
        let mut d = Delivery {
            id: "01JDELIVERY".into(),
            webhook_id: 1,
            event_id: "01JEVENT".into(),
            event: crate::events::names::SPACE_CREATED,
            status: DeliveryStatus::Pending,
            payload: "\"".repeat(150_000),
            content_type: None,
            attempts: vec![],
            next_attempt_at: None,
            created_at: "2026-12-02T06:00:00Z".parse().unwrap(),
            attempt_count: 0,
        };
        for _ in 0..40 {
            d.push_attempt(largest_attempt());
        }
        assert_eq!(d.attempt_count, 40);
        assert!(d.attempts.len() < MAX_ATTEMPTS_KEPT, "{}", d.attempts.len());
        assert_eq!(d.last().map(|a| a.attempt), Some(40), "the newest is kept");
        let attempts: usize = d.attempts.iter().map(stored_len).sum();
        assert!(attempts <= MAX_ATTEMPT_BYTES_KEPT);
        // The stored item: the body as its own attribute, the rest as JSON, keys and counters.
        let rest = serde_json::to_string(&Delivery {
            payload: String::new(),
            ..d.clone()
        })
        .unwrap();
        assert!(
            d.payload.len() + rest.len() + 400 < 400 * 1024,
            "{}",
            rest.len()
        );
        assert_eq!(
            stored_len(&largest_attempt()),
            serde_json::to_vec(&largest_attempt()).unwrap().len()
        );
    }

    #[test]
    fn small_attempts_keep_the_newest_twenty_five() {
        let mut d: Delivery = serde_json::from_value(serde_json::json!({
            "id": "d", "webhook_id": 1, "event_id": "e", "event": "feed.created",
            "status": "pending", "payload": "{}", "attempts": [], "next_attempt_at": null,
            "created_at": "2026-12-02T06:00:00Z"
        }))
        .unwrap();
        let mut a = largest_attempt();
        a.request_headers.clear();
        a.response_body.clear();
        for _ in 0..30 {
            d.push_attempt(a.clone());
        }
        assert_eq!(d.attempts.len(), MAX_ATTEMPTS_KEPT);
        assert_eq!(d.attempts[0].attempt, 6);
    }
}
