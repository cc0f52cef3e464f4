//! Ordered delivery (`ordering: "fifo"`, docs/reference/outgoing.md#fifo-endpoints). Fan-out puts
//! each delivery of a FIFO endpoint in the endpoint's line (an item per delivery, sorted by event
//! id, i.e. publish time) instead of sending it, then kicks the line with a queue message. Whoever
//! holds the line's lease delivers the head, one at a time: a success or an exhausted delivery
//! leaves the line and the next goes; a failure with retries left holds the line until its retry
//! message comes back (which drains the line again). Other endpoints never wait for it.

use std::time::{Duration, Instant};

use super::jobs::JobMessage;
use super::Deliveries;
use super::Trigger;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::outgoing::OutgoingWebhook;
use crate::domain::time;
use crate::error::Result;

/// How long one message keeps delivering a line before handing over to a fresh message.
const LINE_BUDGET: Duration = Duration::from_secs(60);

/// How long the line's head waits in place for a turn of a throttled endpoint.
const THROTTLE_WAIT: Duration = Duration::from_secs(2);

/// Why a line stopped.
#[derive(Debug, PartialEq)]
enum LineState {
    Empty,
    /// The head waits for its scheduled retry.
    Waiting,
    /// The head's event is younger than the settle time: try again in that many ms.
    Settling(u64),
    OutOfTime,
}

impl Deliveries {
    pub(crate) async fn kick_line(&self, webhook_id: i64, delay_seconds: i32) -> Result<()> {
        self.send_job(&JobMessage::Line { webhook_id }, delay_seconds)
            .await
    }

    /// A line message: drain the line, or abandon it if the endpoint is gone or not active.
    pub(crate) async fn line_message(&self, webhook_id: i64) -> Result<()> {
        let ep = self.webhooks.get(webhook_id).await?;
        match ep {
            Some(ep) if ep.is_active() => self.drain_line(&ep, None).await,
            // Paused: the line keeps its entries until the resume kicks it again.
            Some(ep) if ep.is_paused() => Ok(()),
            other => loop {
                let Some(head) = self.lines.head(webhook_id, 1).await?.pop() else {
                    return Ok(());
                };
                if let Some(d) = self.deliveries.get(webhook_id, &head.delivery_id).await? {
                    if matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Held) {
                        self.abandon(d, other.as_ref()).await?;
                    }
                }
                self.lines.remove(webhook_id, &head.sort_key).await?;
            },
        }
    }

    /// Delivers the line's head deliveries in order while holding its lease. `due`: a delivery
    /// whose retry message just came due (attempted even if its `next_attempt_at` is later).
    pub(crate) async fn drain_line(&self, ep: &OutgoingWebhook, due: Option<&str>) -> Result<()> {
        let owner = time::new_ulid().to_string();
        let started = Instant::now();
        let lease_ms = i64::try_from(
            (LINE_BUDGET + Duration::from_secs(self.config.delivery_timeout_seconds + 30))
                .as_millis(),
        )
        .unwrap_or(i64::MAX / 4);
        loop {
            let now = time::now().as_millisecond();
            if !self
                .lines
                .claim(ep.id(), &owner, now, now + lease_ms)
                .await?
            {
                return Ok(()); // someone else is delivering it; they re-check before leaving
            }
            let state = self.advance_line(ep, started, due).await;
            self.lines.release(ep.id(), &owner).await?;
            match state? {
                LineState::Empty => {
                    // An entry added while we held the lease may have had its kick refused.
                    if self.lines.head(ep.id(), 1).await?.is_empty() {
                        return Ok(());
                    }
                }
                LineState::Waiting => return Ok(()),
                LineState::Settling(ms) => {
                    let secs = i32::try_from(ms.div_ceil(1000)).unwrap_or(1).max(1);
                    return self.kick_line(ep.id(), secs).await;
                }
                LineState::OutOfTime => return self.kick_line(ep.id(), 0).await,
            }
        }
    }

    async fn advance_line(
        &self,
        ep: &OutgoingWebhook,
        started: Instant,
        due: Option<&str>,
    ) -> Result<LineState> {
        loop {
            if started.elapsed() > LINE_BUDGET {
                return Ok(LineState::OutOfTime);
            }
            let Some(head) = self.lines.head(ep.id(), 1).await?.pop() else {
                return Ok(LineState::Empty);
            };
            let d = match self.deliveries.get(ep.id(), &head.delivery_id).await? {
                Some(d) if d.status == DeliveryStatus::Pending => d,
                // Not yet released by the resume: the line waits for it (publish order).
                Some(d) if d.status == DeliveryStatus::Held => return Ok(LineState::Waiting),
                _ => {
                    self.lines.remove(ep.id(), &head.sort_key).await?;
                    continue;
                }
            };
            let now = time::now();
            let due_later = d.next_attempt_at.is_some_and(|t| t > now);
            if due_later && due != Some(head.delivery_id.as_str()) {
                return Ok(LineState::Waiting);
            }
            let event_ms = ulid::Ulid::from_string(&head.event_id)
                .map(|u| u.timestamp_ms())
                .unwrap_or(0);
            let age = u64::try_from(now.as_millisecond())
                .unwrap_or(0)
                .saturating_sub(event_ms);
            if age < self.config.fifo_settle_ms {
                return Ok(LineState::Settling(self.config.fifo_settle_ms - age));
            }
            if let Some(ms) = self.take_turn(ep, THROTTLE_WAIT).await? {
                return Ok(LineState::Settling(u64::try_from(ms).unwrap_or(1000)));
            }
            let d = self.attempt(ep, d, Trigger::Scheduled).await?;
            if d.status == DeliveryStatus::Pending {
                return Ok(LineState::Waiting);
            }
            self.lines.remove(ep.id(), &head.sort_key).await?;
        }
    }
}
