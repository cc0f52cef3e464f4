//! Delivering events (SPEC §6.3): fan-out, signed attempts, retries, endpoint health.
//!
//! One queue carries two kinds of messages:
//! - an outbox batch: every event is matched against the active endpoints and each delivery's
//!   first attempt is sent right away, concurrently (`DISPATCH_CONCURRENCY`), so a slow or dead
//!   endpoint only holds its own slot; the batch leaves the outbox once all are recorded;
//! - a retry (`{"retry":{...}}`): one delivery's next attempt, sent with an SQS delay; delays
//!   longer than SQS allows (15 min) are reached by re-queueing until `not_before`.
//!
//! Everything is idempotent under SQS redelivery: delivery ids are derived from (event,
//! endpoint), a delivery is created only if absent, and every later write is conditional on the
//! number of attempts read before it.

use futures::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::App;
use crate::domain::endpoint::{
    delivery_id, loggable_headers, retry_delay, signed_headers, Endpoint,
};
use crate::domain::events::{Event, EventBatch};
use crate::domain::time;
use crate::error::{Error, Result};
use crate::store::deliveries::{Attempt, Delivery, MAX_ATTEMPTS_KEPT};

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
struct RetryMessage {
    retry: RetryRef,
}

/// How an attempt was triggered: by the schedule (retries and failure counting apply) or by an
/// admin (test and redeliver: reported, never retried, never counted against the endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Scheduled,
    Manual,
}

impl App {
    /// Handles one queue message; an `Err` returns it to the queue.
    pub async fn handle_message(&self, body: &str) -> Result<()> {
        let value: Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "dropping an unreadable queue message");
                return Ok(());
            }
        };
        if value.get("retry").is_some() {
            return match serde_json::from_value::<RetryMessage>(value) {
                Ok(m) => self.retry(m.retry).await,
                Err(e) => {
                    tracing::error!(error = %e, "dropping a malformed retry message");
                    Ok(())
                }
            };
        }
        let batch: EventBatch = match serde_json::from_value(value) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "dropping a malformed event batch");
                return Ok(());
            }
        };
        if !self
            .store
            .outbox_contains(batch.shard, &batch.batch_id)
            .await?
        {
            tracing::info!(batch_id = %batch.batch_id, "batch already handled");
            return Ok(());
        }
        self.fan_out(&batch.events).await?;
        self.store.delete_outbox(batch.shard, &batch.batch_id).await
    }

    /// Sends the first attempt of every delivery the events call for.
    pub async fn fan_out(&self, events: &[Event]) -> Result<()> {
        let endpoints: Vec<Endpoint> = self
            .store
            .endpoints_all()
            .await?
            .into_iter()
            .filter(Endpoint::is_active)
            .collect();
        let mut jobs = Vec::new();
        for event in events {
            let targets: Vec<&Endpoint> = endpoints
                .iter()
                .filter(|e| e.subscribed(&event.event))
                .collect();
            if targets.is_empty() {
                continue;
            }
            let xprofile = self.xprofile_for(event).await?;
            for ep in targets {
                jobs.push((ep.clone(), event, xprofile.clone()));
            }
        }
        if jobs.is_empty() {
            return Ok(());
        }
        let wanted: Vec<(i64, String)> = jobs
            .iter()
            .map(|(ep, ev, _)| (ep.id(), delivery_id(&ev.event_id, ep.id())))
            .collect();
        let existing = self.store.deliveries_existing(&wanted).await?;
        let mut sends = Vec::with_capacity(jobs.len());
        for (ep, event, xprofile) in jobs {
            let id = delivery_id(&event.event_id, ep.id());
            let previous = existing.get(&id).cloned();
            sends.push(self.first_attempt(ep, event, xprofile, id, previous));
        }
        let results: Vec<Result<()>> = stream::iter(sends)
            .buffer_unordered(self.config.dispatch_concurrency)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// One delivery's first attempt, unless an earlier run of the same message already made it.
    async fn first_attempt(
        &self,
        ep: Endpoint,
        event: &Event,
        xprofile: Option<Value>,
        id: String,
        previous: Option<Delivery>,
    ) -> Result<()> {
        match previous {
            // Processed before: make sure a pending retry is still scheduled.
            Some(d) if d.status == "pending" && !d.attempts.is_empty() => {
                self.schedule_retry(&d).await
            }
            Some(d) if d.status != "pending" => Ok(()),
            _ => match self.new_delivery(&ep, event, xprofile.as_ref(), id) {
                Ok(d) => self.attempt(&ep, d, Trigger::Scheduled).await.map(|_| ()),
                Err(d) => self
                    .record_unrendered(&ep, d, Trigger::Scheduled, None)
                    .await
                    .map(|_| ()),
            },
        }
    }

    /// The event's `xprofile`, or the member's from the store when only `user_id` is known.
    async fn xprofile_for(&self, event: &Event) -> Result<Option<Value>> {
        match (&event.xprofile, event.user_id) {
            (Some(x), _) => Ok(Some(x.clone())),
            (None, Some(uid)) => Ok(self
                .store
                .member_by_id(uid)
                .await?
                .and_then(|s| s.member)
                .map(|m| m.xprofile())),
            _ => Ok(None),
        }
    }

    /// Sends one attempt of `d` to `ep`, records it, and decides what comes next.
    pub async fn attempt(
        &self,
        ep: &Endpoint,
        mut d: Delivery,
        trigger: Trigger,
    ) -> Result<Delivery> {
        let prev = d.attempts.len();
        let now = time::now();
        let headers = signed_headers(
            &ep.config,
            &d.event,
            &d.id,
            d.content_type(),
            &d.payload,
            now.as_second(),
        );
        let outcome = self.sender.post(&ep.config.url, &headers, &d.payload).await;
        d.attempts.push(Attempt {
            attempt: u32::try_from(prev + 1).unwrap_or(u32::MAX),
            attempted_at: time::rfc3339(now),
            request_headers: loggable_headers(&headers, &ep.config),
            response_code: outcome.status,
            response_body: outcome.body_excerpt.clone(),
            response_time: outcome.duration_ms,
            error: outcome.error.clone(),
        });
        if d.attempts.len() > MAX_ATTEMPTS_KEPT {
            d.attempts.remove(0);
        }
        let error = outcome.error_text();
        let gone = outcome.status == Some(410);
        let retries_done = u32::try_from(prev).unwrap_or(u32::MAX);
        let mut retry = false;
        if outcome.success() {
            d.status = "success".into();
            d.next_attempt_at = None;
        } else if trigger == Trigger::Manual {
            if d.status == "pending" && d.next_attempt_at.is_some() {
                // Still waiting for its scheduled retry: re-announce it with the new attempt count
                // (the old retry message no longer matches and is dropped).
                retry = true;
            } else {
                d.status = "failed".into();
            }
        } else if !gone && retries_done < ep.config.retry_count {
            let retry_after = match outcome.status {
                Some(429) | Some(503) => outcome.retry_after,
                _ => None,
            };
            let delay = retry_delay(retries_done + 1, rand::random::<f64>(), retry_after);
            d.status = "pending".into();
            d.next_attempt_at = Some(time::rfc3339(
                now + jiff::SignedDuration::from_secs(i64::try_from(delay).unwrap_or(i64::MAX / 2)),
            ));
            retry = true;
        } else {
            d.status = "failed".into();
            d.next_attempt_at = None;
        }

        let retention = self.config.log_retention_days;
        let saved = if prev == 0 && trigger == Trigger::Scheduled {
            self.store.delivery_create(&d, retention).await?
        } else {
            self.store.delivery_save(&d, prev, retention).await?
        };
        if !saved {
            // Another processor recorded this attempt first: its outcome stands.
            tracing::info!(delivery_id = %d.id, "attempt already recorded elsewhere");
            return Ok(d);
        }
        tracing::info!(
            delivery_id = %d.id, webhook_id = ep.id(), event = %d.event, attempt = d.attempts.len(),
            status = ?outcome.status, duration_ms = outcome.duration_ms, outcome = %d.status, "delivery attempt"
        );
        if outcome.success() {
            self.store
                .endpoint_succeeded(ep.id(), &time::rfc3339(now))
                .await?;
        } else if gone {
            self.store
                .endpoint_disable(
                    ep.id(),
                    "HTTP 410 Gone: the endpoint asked to stop deliveries",
                )
                .await?;
        } else if trigger == Trigger::Scheduled && d.status == "failed" {
            self.store.endpoint_delivery_failed(ep.id(), &error).await?;
        } else {
            self.store.endpoint_errored(ep.id(), &error).await?;
        }
        if retry {
            self.schedule_retry(&d).await?;
        }
        Ok(d)
    }

    /// Puts the next attempt of a pending delivery on the queue.
    async fn schedule_retry(&self, d: &Delivery) -> Result<()> {
        let not_before = d
            .next_attempt_at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second())
            .unwrap_or_else(|| time::now().as_second());
        let r = RetryRef {
            webhook_id: d.webhook_id,
            delivery_id: d.id.clone(),
            attempt: u32::try_from(d.attempts.len() + 1).unwrap_or(u32::MAX),
            not_before,
        };
        self.enqueue_retry(&r).await
    }

    async fn enqueue_retry(&self, r: &RetryRef) -> Result<()> {
        let delay = (r.not_before - time::now().as_second()).clamp(0, MAX_SQS_DELAY);
        let body = serde_json::to_string(&RetryMessage { retry: r.clone() }).map_err(Error::dep)?;
        self.queue
            .send(body, i32::try_from(delay).unwrap_or(900))
            .await
    }

    /// A retry message: wait longer if it is early, else attempt again.
    async fn retry(&self, r: RetryRef) -> Result<()> {
        if r.not_before > time::now().as_second() {
            return self.enqueue_retry(&r).await;
        }
        let Some(mut d) = self
            .store
            .delivery_get(r.webhook_id, &r.delivery_id)
            .await?
        else {
            return Ok(());
        };
        if d.status != "pending" || d.attempts.len() + 1 != r.attempt as usize {
            return Ok(());
        }
        let endpoint = self.store.endpoint_get(r.webhook_id).await?;
        match endpoint {
            Some(ep) if ep.is_active() => {
                self.attempt(&ep, d, Trigger::Scheduled).await.map(|_| ())
            }
            other => {
                let prev = d.attempts.len();
                d.status = "failed".into();
                d.next_attempt_at = None;
                let why = match other {
                    Some(ep) => format!("not retried: the endpoint is {}", ep.status),
                    None => "not retried: the endpoint was deleted".into(),
                };
                if let Some(last) = d.attempts.last_mut() {
                    last.error = Some(why);
                }
                self.store
                    .delivery_save(&d, prev, self.config.log_retention_days)
                    .await
                    .map(|_| ())
            }
        }
    }
}

impl App {
    /// One SQS batch, as the event source mapping delivers it: every record concurrently; the
    /// ones that fail are reported so that only they return to the queue.
    pub async fn handle_sqs_event(
        &self,
        event: &aws_lambda_events::event::sqs::SqsEvent,
    ) -> aws_lambda_events::event::sqs::SqsBatchResponse {
        let handled = futures::future::join_all(event.records.iter().map(|r| async move {
            let ok = match r.body.as_deref() {
                Some(body) => self.handle_message(body).await.is_ok(),
                None => true,
            };
            (r.message_id.clone().unwrap_or_default(), ok)
        }))
        .await;
        let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
        for (id, ok) in handled {
            if !ok {
                tracing::warn!(message_id = %id, "record failed; it returns to the queue");
                response.add_failure(id);
            }
        }
        response
    }
}
