//! Keeping one endpoint from costing the others (docs/architecture.md#how-dispatch-works "one slow
//! or dead endpoint never delays the others", also under a backlog), and keeping an invocation
//! within its limits.
//!
//! - **Fast lane, slow lane.** Fan-out gives each first attempt a short budget
//!   (`FAST_LANE_MS`: 3 s as deployed and under `make dev`; 0 turns the fast lane off). An attempt that does not finish in it is handed to the slow
//!   lane: the delivery is recorded `pending` and its attempt 1 is queued on the slow queue
//!   (`SLOW_QUEUE_URL`), where it gets the full 30 s. Every retry, FIFO line and recover job
//!   runs in the slow lane too, so the event queue only ever waits a few seconds per batch.
//! - **Circuit breaker.** An endpoint whose fast-lane attempt ran out of budget is skipped by
//!   the fast lane of this instance for [`BREAKER_OPEN`]: its deliveries go straight to the slow
//!   lane without touching the network. Then it is half-open: exactly one delivery probes it
//!   (the others keep skipping it for one budget); a probe that finishes in time closes the
//!   breaker, one that does not opens it again.
//! - **One budget per invocation.** Every send takes a permit from one semaphore of
//!   `DISPATCH_CONCURRENCY` permits (sockets) per instance, whatever the number of records.
//! - **Deadline.** No send starts when the invocation's remaining time cannot fit one whole
//!   attempt; the records concerned fail and return to the queue (finished work is skipped
//!   when they come back).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// How long the fast lane avoids an endpoint after it ran out of budget there.
pub const BREAKER_OPEN: Duration = Duration::from_secs(30);

/// Margin kept at the end of an invocation beyond one attempt's timeout.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Lanes {
    slots: Arc<Semaphore>,
    deadline: Mutex<Option<Instant>>,
    open: Mutex<HashMap<i64, Instant>>,
    attempt_timeout: Duration,
}

impl Lanes {
    pub fn new(concurrency: usize, attempt_timeout: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            deadline: Mutex::new(None),
            open: Mutex::new(HashMap::new()),
            attempt_timeout,
        }
    }

    /// The current invocation must be finished by `deadline` (`None`: no limit, as in tests).
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        if let Ok(mut d) = self.deadline.lock() {
            *d = deadline;
        }
    }

    /// Whether one more attempt fits before the deadline.
    pub fn time_for_one_more(&self, now: Instant) -> bool {
        let deadline = self.deadline.lock().ok().and_then(|d| *d);
        deadline.is_none_or(|d| now + self.attempt_timeout + DEADLINE_MARGIN <= d)
    }

    /// A permit to send, if one more attempt fits before the deadline.
    pub async fn send_slot(&self) -> Result<OwnedSemaphorePermit> {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::dep)?;
        if !self.time_for_one_more(Instant::now()) {
            return Err(Error::Dependency(
                "not enough time left in this invocation for another attempt".into(),
            ));
        }
        Ok(permit)
    }

    /// Whether the fast lane skips `webhook_id` now. After the open period the first caller
    /// gets `false` (it probes) and the breaker stays open to everyone else for `probe`.
    pub fn is_open(&self, webhook_id: i64, now: Instant, probe: Duration) -> bool {
        let Ok(mut open) = self.open.lock() else {
            return false;
        };
        match open.get(&webhook_id) {
            Some(until) if *until > now => true,
            Some(_) => {
                open.insert(webhook_id, now + probe);
                false
            }
            None => false,
        }
    }

    /// An attempt to `webhook_id` finished within the budget: the breaker closes.
    pub fn close(&self, webhook_id: i64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&webhook_id);
        }
    }

    /// `webhook_id` ran out of its fast-lane budget: skip it for [`BREAKER_OPEN`].
    pub fn trip(&self, webhook_id: i64, now: Instant) {
        if let Ok(mut open) = self.open.lock() {
            open.insert(webhook_id, now + BREAKER_OPEN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_and_closes() {
        let lanes = Lanes::new(2, Duration::from_secs(30));
        let probe = Duration::from_secs(4);
        let t = Instant::now();
        assert!(!lanes.is_open(7, t, probe));
        lanes.trip(7, t);
        assert!(lanes.is_open(7, t + Duration::from_secs(29), probe));
        assert!(!lanes.is_open(8, t, probe));
        // Half-open: one probe, the others still skip it while it runs.
        let later = t + Duration::from_secs(31);
        assert!(!lanes.is_open(7, later, probe), "the first caller probes");
        assert!(
            lanes.is_open(7, later, probe),
            "the others wait for the probe"
        );
        // The probe answered in time: closed for everyone.
        lanes.close(7);
        assert!(!lanes.is_open(7, later, probe));
        assert!(!lanes.is_open(7, later, probe));
    }

    #[test]
    fn deadline_leaves_room_for_one_attempt() {
        let lanes = Lanes::new(2, Duration::from_secs(30));
        let t = Instant::now();
        assert!(lanes.time_for_one_more(t));
        lanes.set_deadline(Some(t + Duration::from_secs(36)));
        assert!(lanes.time_for_one_more(t));
        assert!(!lanes.time_for_one_more(t + Duration::from_secs(2)));
        lanes.set_deadline(None);
        assert!(lanes.time_for_one_more(t + Duration::from_secs(2)));
    }

    #[tokio::test]
    async fn one_budget_for_every_send() {
        let lanes = Lanes::new(2, Duration::from_secs(30));
        let a = lanes.send_slot().await.unwrap();
        let _b = lanes.send_slot().await.unwrap();
        let third = tokio::time::timeout(Duration::from_millis(50), lanes.send_slot()).await;
        assert!(third.is_err(), "a third send waits for a permit");
        drop(a);
        assert!(lanes.send_slot().await.is_ok());
        lanes.set_deadline(Some(Instant::now()));
        assert!(lanes.send_slot().await.is_err(), "no time left");
    }
}
