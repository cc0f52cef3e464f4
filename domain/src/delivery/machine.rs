//! The delivery state machine (docs/reference/outgoing.md#the-delivery,
//! docs/reference/outgoing.md#fifo-endpoints): what one attempt's outcome does to its delivery and
//! to its endpoint. Pure: the engine (`app/deliveries`) sends, then hands the outcome here with the
//! delivery, the trigger, the endpoint's state, the time and a jitter, and applies what comes back
//! (saves, schedules, publishes).

use super::{Delivery, DeliveryStatus};
use crate::outgoing::retry::retry_delay;

/// Consecutive failed deliveries after which an endpoint is set `failed`.
pub const FAILURES_BEFORE_DISABLE: i64 = 5;

/// `last_error` of an endpoint that answered 410.
pub const GONE: &str = "HTTP 410 Gone: the endpoint asked to stop deliveries";

/// How an attempt was triggered: by the schedule (retries and failure counting apply) or by an
/// admin (test, redeliver, recover: reported, never retried, never counted against the
/// endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Scheduled,
    Manual,
}

/// What the machine needs of an attempt's HTTP outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The response's status; `None`: no response (timeout, refused, DNS).
    pub status: Option<u16>,
    /// `Retry-After` in seconds, when the response gave one.
    pub retry_after: Option<u64>,
}

impl Outcome {
    pub fn success(self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn gone(self) -> bool {
        self.status == Some(410)
    }

    /// `Retry-After` counts only with `429` and `503`.
    fn retry_after(self) -> Option<u64> {
        matches!(self.status, Some(429) | Some(503))
            .then_some(self.retry_after)
            .flatten()
    }
}

/// The endpoint's state the machine reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    /// Re-activated after `failed`, waiting for its first success.
    pub recovering: bool,
    /// A paused endpoint is never auto-disabled.
    pub paused: bool,
}

/// What an attempt changes about its endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthChange {
    /// A success: the failure count back to zero, `last_triggered_at`.
    Succeeded,
    /// A re-activated endpoint's first success: as `Succeeded`, and `endpoint.recovered`.
    Recovered,
    /// `last_error` only (a failed attempt with retries left, or a manual one).
    Errored,
    /// A delivery given up: one more consecutive failure; [`disables_after`] says whether the
    /// new count disables the endpoint.
    CountFailure,
    /// `410 Gone`: disabled at once (`endpoint.disabled`, the operator's email).
    Disable,
}

/// What becomes of the delivery's `next_attempt_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextAttempt {
    /// Unchanged (a manual attempt leaves a scheduled retry where it is).
    Keep,
    Clear,
    /// A retry is due then.
    At(jiff::Timestamp),
}

/// The result of one transition.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub status: DeliveryStatus,
    pub next_attempt: NextAttempt,
    /// Whether a retry message is to be queued (a new one, or a re-announced one).
    pub schedule: bool,
    pub health: HealthChange,
}

/// One attempt's transition. `prev`: attempts made before this one; `retry_count`: the
/// endpoint's retries after the first attempt; `jitter` in [0, 1).
#[allow(clippy::too_many_arguments)]
pub fn after_attempt(
    d: &Delivery,
    outcome: Outcome,
    trigger: Trigger,
    retry_count: u32,
    prev: usize,
    health: Health,
    now: jiff::Timestamp,
    jitter: f64,
) -> Step {
    let retries_done = u32::try_from(prev).unwrap_or(u32::MAX);
    if outcome.success() {
        let health = if health.recovering {
            HealthChange::Recovered
        } else {
            HealthChange::Succeeded
        };
        return Step {
            status: DeliveryStatus::Success,
            next_attempt: NextAttempt::Clear,
            schedule: false,
            health,
        };
    }
    let failure = if outcome.gone() && !health.paused {
        HealthChange::Disable
    } else {
        HealthChange::Errored
    };
    if trigger == Trigger::Manual {
        let waiting = d.status == DeliveryStatus::Pending && d.next_attempt_at.is_some();
        return if waiting {
            // Still waiting for its scheduled retry: re-announce it with the new attempt count
            // (the old retry message no longer matches and is dropped).
            Step {
                status: DeliveryStatus::Pending,
                next_attempt: NextAttempt::Keep,
                schedule: true,
                health: failure,
            }
        } else {
            Step {
                status: DeliveryStatus::Failed,
                next_attempt: NextAttempt::Keep,
                schedule: false,
                health: failure,
            }
        };
    }
    if !outcome.gone() && retries_done < retry_count {
        let delay = retry_delay(retries_done + 1, jitter, outcome.retry_after());
        let delay = jiff::SignedDuration::from_secs(i64::try_from(delay).unwrap_or(i64::MAX / 2));
        return Step {
            status: DeliveryStatus::Pending,
            next_attempt: NextAttempt::At(now + delay),
            schedule: true,
            health: HealthChange::Errored,
        };
    }
    Step {
        status: DeliveryStatus::Failed,
        next_attempt: NextAttempt::Clear,
        schedule: false,
        health: if failure == HealthChange::Disable {
            failure
        } else {
            HealthChange::CountFailure
        },
    }
}

impl Step {
    /// Writes the transition into the delivery.
    pub fn apply(&self, d: &mut Delivery) {
        d.status = self.status;
        match self.next_attempt {
            NextAttempt::Keep => {}
            NextAttempt::Clear => d.next_attempt_at = None,
            NextAttempt::At(t) => d.next_attempt_at = Some(crate::time::second(t)),
        }
    }
}

/// Whether `consecutive_failures`, just counted, disables the endpoint (never while paused).
pub fn disables_after(consecutive_failures: i64, health: Health) -> bool {
    !health.paused && consecutive_failures >= FAILURES_BEFORE_DISABLE
}

/// Whether recover re-attempts a delivery: only those that ended `failed`.
pub fn recoverable(d: &Delivery) -> bool {
    d.status == DeliveryStatus::Failed
}

#[cfg(test)]
mod tests;
