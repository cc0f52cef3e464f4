//! Background work carried by the event queue besides batches and retries: draining a FIFO
//! endpoint's line, recover jobs and erasures. Also the sweeper's check for overdue deliveries.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::retries::RetryRef;
use super::Deliveries;
use crate::domain::time;
use crate::error::{Error, Result};

/// A queue message naming a job.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum JobMessage {
    /// Deliver the head of a FIFO endpoint's line.
    Line { webhook_id: i64 },
    /// Continue a recover job.
    Recover { webhook_id: i64, recover_id: String },
    /// Release a resumed endpoint's held deliveries.
    Resume { webhook_id: i64 },
    /// Continue an erasure (see [`crate::app::Erasure`]).
    Erase { erasure_id: String },
}

/// A `pending` delivery this long past its due time (or, never attempted, this long after it
/// was created) has lost its queue message.
const OVERDUE_SECONDS: i64 = 600;

impl JobMessage {
    pub fn parse(value: &Value) -> Option<Self> {
        let is_job = ["line", "recover", "resume", "erase"]
            .iter()
            .any(|k| value.get(k).is_some());
        if !is_job {
            return None;
        }
        serde_json::from_value(value.clone()).ok()
    }
}

impl Deliveries {
    pub(crate) async fn send_job(&self, job: &JobMessage, delay_seconds: i32) -> Result<()> {
        let body = serde_json::to_string(job).map_err(Error::dep)?;
        self.queue.send_slow(body, delay_seconds).await
    }

    pub(crate) async fn run_job(&self, job: JobMessage) -> Result<()> {
        match job {
            JobMessage::Line { webhook_id } => self.line_message(webhook_id).await,
            JobMessage::Recover {
                webhook_id,
                recover_id,
            } => self.recover_step(webhook_id, &recover_id).await,
            JobMessage::Resume { webhook_id } => self.resume_step(webhook_id).await,
            JobMessage::Erase { erasure_id } => self.erasure.step(&erasure_id).await.map(|_| ()),
        }
    }

    /// The sweeper's check: every `pending` delivery whose queue message was lost (overdue)
    /// is scheduled again (a FIFO endpoint's line is kicked). Queries each endpoint's pending
    /// index partition; no Scan. Returns how many were re-scheduled.
    pub async fn sweep_deliveries(&self) -> Result<usize> {
        self.sweep_deliveries_at(time::now().as_second()).await
    }

    /// [`Deliveries::sweep_deliveries`] as if it ran at `now` (seconds; tests look ahead past
    /// the overdue margin).
    pub async fn sweep_deliveries_at(&self, now: i64) -> Result<usize> {
        let mut rescheduled = 0;
        for ep in self.webhooks.all().await? {
            // An active endpoint with held deliveries lost its resume message.
            if ep.is_active() && !self.deliveries.held(ep.id(), 1).await?.is_empty() {
                self.resume(ep.id()).await?;
            }
            let pending = self.deliveries.pending(ep.id(), 200).await?;
            let overdue: Vec<_> = pending
                .into_iter()
                .filter(|d| {
                    let due = d.next_attempt_at.unwrap_or(d.created_at);
                    due.as_second() + OVERDUE_SECONDS < now
                })
                .collect();
            if overdue.is_empty() {
                continue;
            }
            if ep.is_fifo() && ep.is_active() {
                self.kick_line(ep.id(), 0).await?;
                rescheduled += overdue.len();
                continue;
            }
            for d in overdue {
                let r = RetryRef {
                    webhook_id: ep.id(),
                    delivery_id: d.id.clone(),
                    attempt: u32::try_from(d.total_attempts() + 1).unwrap_or(u32::MAX),
                    // Due at once: a sweep judged ahead of the clock (tests) schedules for
                    // the clock's now, not for its own.
                    not_before: now.min(time::now().as_second()),
                };
                self.enqueue_retry(&r).await?;
                rescheduled += 1;
            }
        }
        Ok(rescheduled)
    }
}
