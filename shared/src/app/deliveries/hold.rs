//! Pause that holds (docs/reference/outgoing.md#pause-and-throttle): while an endpoint is `paused`,
//! fan-out records its deliveries `held` (a FIFO endpoint's also take their place in its line) and
//! a retry that comes due is held too. Setting it `active` again queues a resume job that releases
//! them oldest first (delivery ids start with the event's time, so the index partition is in
//! publish order): each becomes `pending` and gets an attempt on the slow lane, or, for a FIFO
//! endpoint, the line is kicked once all are released and delivers them in publish order. Held
//! deliveries older than the log retention are dropped (`failed`, with the reason in the log).

use std::time::{Duration, Instant};

use super::jobs::JobMessage;
use super::retries::RetryRef;
use super::Deliveries;
use crate::domain::delivery::{Delivery, DeliveryStatus};
use crate::domain::time;
use crate::error::Result;
use crate::metrics::Observation;

/// Held deliveries released per page.
const PAGE: i32 = 100;

/// How long one resume message releases before handing over to the next.
const STEP_BUDGET: Duration = Duration::from_secs(30);

/// Why a held delivery was dropped.
const DROPPED: &str = "dropped: held longer than the log retention while the endpoint was paused";

impl Deliveries {
    /// A pending delivery whose endpoint is paused: `held` until it is resumed.
    pub(crate) async fn hold(&self, mut d: Delivery) -> Result<()> {
        let prev = d.total_attempts();
        d.status = DeliveryStatus::Held;
        d.next_attempt_at = None;
        Observation::Held {
            endpoint_id: d.webhook_id,
            count: 1,
        }
        .emit();
        self.deliveries.save(&d, prev).await.map(|_| ())
    }

    /// Queues the release of an endpoint's held deliveries (it was just set `active`).
    pub(crate) async fn resume(&self, webhook_id: i64) -> Result<()> {
        self.send_job(&JobMessage::Resume { webhook_id }, 0).await
    }

    /// How many deliveries of an endpoint are held.
    pub async fn held_count(&self, webhook_id: i64) -> Result<u64> {
        self.deliveries
            .count(webhook_id, DeliveryStatus::Held)
            .await
    }

    /// One resume step: releases pages of held deliveries within [`STEP_BUDGET`], then hands
    /// over to a new message. Nothing happens if the endpoint is not active (paused again).
    pub(crate) async fn resume_step(&self, webhook_id: i64) -> Result<()> {
        let Some(ep) = self.webhooks.get(webhook_id).await? else {
            return Ok(());
        };
        if !ep.is_active() {
            return Ok(());
        }
        let started = Instant::now();
        let mut dropped = 0usize;
        loop {
            let held = self.deliveries.held(webhook_id, PAGE).await?;
            if held.is_empty() {
                break;
            }
            let now = time::now();
            let oldest_kept = self.deliveries.retention().oldest_kept(now);
            let mut retries = Vec::new();
            for mut d in held {
                let prev = d.total_attempts();
                if d.created_at < oldest_kept {
                    d.status = DeliveryStatus::Failed;
                    d.next_attempt_at = None;
                    if self.deliveries.save(&d, prev).await? {
                        dropped += 1;
                    }
                    continue;
                }
                d.status = DeliveryStatus::Pending;
                d.next_attempt_at = (!ep.is_fifo()).then(|| time::second(now));
                if self.deliveries.save(&d, prev).await? && !ep.is_fifo() {
                    retries.push(RetryRef {
                        webhook_id,
                        delivery_id: d.id.clone(),
                        attempt: u32::try_from(prev + 1).unwrap_or(u32::MAX),
                        not_before: now.as_second(),
                    });
                }
            }
            self.enqueue_retries(&retries).await?;
            if started.elapsed() > STEP_BUDGET {
                log_dropped(webhook_id, dropped);
                return self.resume(webhook_id).await;
            }
        }
        log_dropped(webhook_id, dropped);
        if ep.is_fifo() {
            self.kick_line(webhook_id, 0).await?;
        }
        Ok(())
    }
}

fn log_dropped(webhook_id: i64, dropped: usize) {
    if dropped > 0 {
        tracing::warn!(webhook_id, dropped, "{DROPPED}");
    }
}
