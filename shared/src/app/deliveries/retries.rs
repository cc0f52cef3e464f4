//! Retries (docs/reference/outgoing.md#the-delivery): scheduling an attempt on the slow lane with
//! an SQS delay (delays longer than SQS allows, 15 min, are reached by re-queueing until
//! `not_before`), and playing it when it comes back. Every write is conditional on the attempt
//! counter, which only grows, so duplicate or stale messages change nothing.

use serde::{Deserialize, Serialize};

use super::Deliveries;
use super::Trigger;
use crate::domain::delivery::{Delivery, DeliveryStatus};
use crate::domain::outgoing::OutgoingWebhook;
use crate::domain::time;
use crate::error::{Error, Result};

/// How long a throttled retry waits in place for a turn before it is queued again.
const THROTTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The longest delay one SQS message can carry.
const MAX_SQS_DELAY: i64 = 900;

/// A scheduled retry of one delivery.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RetryRef {
    pub webhook_id: i64,
    pub delivery_id: String,
    /// The attempt number this message performs (2 = first retry).
    pub attempt: u32,
    /// Unix seconds before which the attempt must not happen.
    pub not_before: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct RetryMessage {
    pub(crate) retry: RetryRef,
}

impl Deliveries {
    /// Puts the next attempt of a pending delivery on the queue.
    pub(crate) async fn schedule_retry(&self, d: &Delivery) -> Result<()> {
        let not_before = d
            .next_attempt_at
            .map(|t| t.as_second())
            .unwrap_or_else(|| time::now().as_second());
        let r = RetryRef {
            webhook_id: d.webhook_id,
            delivery_id: d.id.clone(),
            attempt: u32::try_from(d.total_attempts() + 1).unwrap_or(u32::MAX),
            not_before,
        };
        self.enqueue_retry(&r).await
    }

    pub(crate) async fn enqueue_retry(&self, r: &RetryRef) -> Result<()> {
        let delay = (r.not_before - time::now().as_second()).clamp(0, MAX_SQS_DELAY);
        let body = serde_json::to_string(&RetryMessage { retry: r.clone() }).map_err(Error::dep)?;
        self.queue
            .send_slow(body, i32::try_from(delay).unwrap_or(900))
            .await
    }

    /// Queues several retries on the slow lane, 10 per SQS call.
    pub(crate) async fn enqueue_retries(&self, refs: &[RetryRef]) -> Result<()> {
        if refs.is_empty() {
            return Ok(());
        }
        let now = time::now().as_second();
        let messages = refs
            .iter()
            .map(|r| {
                let delay = (r.not_before - now).clamp(0, MAX_SQS_DELAY);
                let body = serde_json::to_string(&RetryMessage { retry: r.clone() })
                    .map_err(Error::dep)?;
                Ok((body, i32::try_from(delay).unwrap_or(900)))
            })
            .collect::<Result<Vec<_>>>()?;
        self.queue.send_slow_all(messages).await
    }

    /// A retry message: wait longer if it is early, else attempt again. A redelivered message
    /// whose attempt is already recorded (its processor failed before scheduling the next one)
    /// schedules the next attempt again instead of being dropped; a duplicate first delivery
    /// (e.g. from the sweeper) is dropped, so duplicates never multiply.
    pub(crate) async fn retry(&self, r: RetryRef, redelivered: bool) -> Result<()> {
        if r.not_before > time::now().as_second() {
            return self.enqueue_retry(&r).await;
        }
        let Some(d) = self.deliveries.get(r.webhook_id, &r.delivery_id).await? else {
            return Ok(());
        };
        if d.status != DeliveryStatus::Pending {
            return Ok(());
        }
        let endpoint = self.webhooks.get(r.webhook_id).await?;
        let total = d.total_attempts();
        match endpoint {
            Some(ep) if ep.is_active() && ep.is_fifo() => {
                let due = (total + 1 == r.attempt as usize).then_some(r.delivery_id.as_str());
                self.drain_line(&ep, due).await
            }
            Some(ep) if ep.is_active() && total + 1 == r.attempt as usize => {
                if let Some(ms) = self.take_turn(&ep, THROTTLE_WAIT).await? {
                    // Throttled: the same attempt again once the endpoint has a turn.
                    let later = RetryRef {
                        not_before: time::now().as_second() + (ms / 1000).max(1),
                        ..r
                    };
                    return self.enqueue_retry(&later).await;
                }
                self.attempt(&ep, d, Trigger::Scheduled).await.map(|_| ())
            }
            Some(ep) if ep.is_active() && redelivered && total == r.attempt as usize => {
                self.schedule_retry(&d).await
            }
            Some(ep) if ep.is_active() => Ok(()),
            Some(ep) if ep.is_paused() => self.hold(d).await,
            other => self.abandon(d, other.as_ref()).await,
        }
    }

    /// A pending delivery of an endpoint that is no longer active: `failed`, not retried.
    pub(crate) async fn abandon(
        &self,
        mut d: Delivery,
        ep: Option<&OutgoingWebhook>,
    ) -> Result<()> {
        let prev = d.total_attempts();
        d.status = DeliveryStatus::Failed;
        d.next_attempt_at = None;
        let why = match ep {
            Some(ep) => format!("not retried: the endpoint is {}", ep.status),
            None => "not retried: the endpoint was deleted".into(),
        };
        if let Some(last) = d.attempts.last_mut() {
            last.error = Some(why);
        }
        self.deliveries.save(&d, prev).await.map(|_| ())
    }
}
