//! One execution in a webhook's activity log.

use serde::{Deserialize, Serialize};

use super::Outcome;

/// How an execution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Success,
    Failed,
    /// A provider event that the webhook's rules (or products) do not act on.
    Ignored,
    /// A provider event whose member could not be found.
    Unresolved,
}

impl RunOutcome {
    /// The name the log and the metrics use (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            RunOutcome::Success => "success",
            RunOutcome::Failed => "failed",
            RunOutcome::Ignored => "ignored",
            RunOutcome::Unresolved => "unresolved",
        }
    }
}

/// The `welcome_email` field of a response and a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WelcomeEmail {
    Sent,
    NotRequested,
    ExistingUser,
    Failed,
}

/// One execution in a webhook's activity log. Never holds a password.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Run {
    pub id: String,
    pub webhook_id: i64,
    #[serde(with = "crate::time::wire")]
    pub time: jiff::Timestamp,
    pub email: Option<String>,
    pub user_id: Option<i64>,
    pub created: bool,
    pub outcome: RunOutcome,
    pub status_code: u16,
    pub spaces: Outcome,
    pub courses: Outcome,
    pub welcome_email: Option<WelcomeEmail>,
    pub source_ip: Option<String>,
    pub error: Option<String>,
    /// Provider sources: the event type and why it was ignored or unresolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Run {
    /// A run of `webhook_id` at `time`, with nothing changed yet.
    pub fn new(
        webhook_id: i64,
        time: jiff::Timestamp,
        outcome: RunOutcome,
        status_code: u16,
    ) -> Self {
        Self {
            id: crate::time::new_ulid().to_string(),
            webhook_id,
            time: crate::time::second(time),
            email: None,
            user_id: None,
            created: false,
            outcome,
            status_code,
            spaces: Outcome::default(),
            courses: Outcome::default(),
            welcome_email: None,
            source_ip: None,
            error: None,
            event: None,
            reason: None,
        }
    }
}
