//! A recover job (docs/reference/outgoing.md#recover): re-attempting an endpoint's failed
//! deliveries since a time.

use serde::{Deserialize, Serialize};

/// A recover job's state.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Running,
    Done,
}

/// `POST /admin/webhooks/{id}/recover`: re-attempt every failed delivery since `since`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecoverJob {
    pub recover_id: String,
    pub webhook_id: i64,
    #[serde(with = "crate::time::wire")]
    pub since: jiff::Timestamp,
    pub status: JobStatus,
    pub total: u64,
    /// `total` was counted up to [`RECOVER_COUNT_CAP`] and more exist (`total` is at least that).
    #[serde(default, skip_serializing_if = "is_false")]
    pub total_is_lower_bound: bool,
    pub attempted: u64,
    /// The last delivery id handled (the next page starts after it).
    pub cursor: Option<String>,
    #[serde(with = "crate::time::wire")]
    pub created_at: jiff::Timestamp,
    #[serde(with = "crate::time::wire")]
    pub updated_at: jiff::Timestamp,
    /// Steps in a row whose attempt could not be made (the job ends after a few).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub step_errors: u32,
}

/// A recover job counts its failed deliveries up to this many when it starts (one request
/// never walks an unbounded range); beyond it, `total` is a lower bound.
pub const RECOVER_COUNT_CAP: u64 = 10_000;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
