//! A delivery: one per (event, endpoint), the exact body sent, every HTTP attempt, and where it
//! stands.

use crate::domain::events::EventName;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a delivery stands: waiting for an attempt (`pending`), delivered (`success`), or given
/// up (`failed`: retries exhausted, `410`, or the endpoint disabled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Success,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Success, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }

    /// The status a query parameter names, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP attempt of a delivery.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Attempt {
    pub attempt: u32,
    pub attempted_at: String,
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
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// Attempts ever made (the list keeps the latest [`MAX_ATTEMPTS_KEPT`]); only grows, so it
    /// guards every conditional save.
    #[serde(default)]
    pub attempt_count: usize,
}

/// Most attempts kept per delivery (redeliveries can add more; the oldest are dropped).
pub const MAX_ATTEMPTS_KEPT: usize = 25;

impl Delivery {
    /// The content type the body is sent with.
    pub fn content_type(&self) -> &str {
        self.content_type
            .as_deref()
            .unwrap_or(crate::domain::format::JSON)
    }

    pub fn last(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    /// Attempts ever made (older records only have the list).
    pub fn total_attempts(&self) -> usize {
        self.attempt_count.max(self.attempts.len())
    }

    /// Appends an attempt, keeping the newest [`MAX_ATTEMPTS_KEPT`].
    pub fn push_attempt(&mut self, mut a: Attempt) {
        let total = self.total_attempts() + 1;
        a.attempt = u32::try_from(total).unwrap_or(u32::MAX);
        self.attempts.push(a);
        if self.attempts.len() > MAX_ATTEMPTS_KEPT {
            self.attempts.remove(0);
        }
        self.attempt_count = total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for s in DeliveryStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryStatus::parse("done"), None);
    }
}
