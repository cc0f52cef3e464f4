//! Delivering events (docs/reference/outgoing.md#the-delivery): fan-out, signed attempts, retries,
//! endpoint health.
//!
//! An outbox batch: every event is matched against the active endpoints and each delivery's
//! first attempt is sent right away, concurrently (`DISPATCH_CONCURRENCY`), within the fast
//! lane's budget (see [`super::lanes`]); the attempts are then recorded in batches, and the
//! batch leaves the outbox once all are recorded. Retries are in [`super::retries`], FIFO
//! endpoints in [`super::fifo`].
//!
//! Everything is idempotent under SQS redelivery: delivery ids are derived from (event,
//! endpoint), a delivery is created only if absent, and every later write is conditional on the
//! number of attempts read before it.

use futures::{stream, StreamExt};
use serde_json::Value;

use super::retries::RetryRef;
use super::{Deliveries, Trigger};
use crate::domain::delivery::machine::{self, HealthChange, Step};
use crate::domain::delivery::{Attempt, Delivery, DeliveryStatus};
use crate::domain::events::Event;
use crate::domain::format::EventContext;
use crate::domain::outgoing::signing::{delivery_id, loggable_headers, signed_headers};
use crate::domain::outgoing::OutgoingWebhook;
use crate::domain::time;
use crate::error::Result;
use crate::metrics::Observation;
use crate::sender::SendOutcome;

/// What fan-out does with one delivery an event calls for.
enum Plan<'a> {
    /// Sent and recorded by an earlier run of the same message.
    Done,
    /// Recorded and pending: make sure its next attempt is scheduled.
    Resume(Delivery),
    /// New: its first attempt (or its place in a FIFO line).
    New(Box<OutgoingWebhook>, &'a Event, Option<Value>),
}

/// A first attempt, sent but not yet recorded.
struct Sent {
    ep: OutgoingWebhook,
    d: Delivery,
    /// `None`: handed to the slow lane without an attempt.
    outcome: Option<(SendOutcome, Step, jiff::Timestamp)>,
}

impl Deliveries {
    /// Sends the first attempt of every delivery the events call for, then records them in
    /// batches (see [`Deliveries::record_first_attempts`]).
    pub async fn fan_out(&self, events: &[Event]) -> Result<()> {
        observe_queue_age(events);
        let mut sends = Vec::new();
        let mut lines = std::collections::BTreeSet::new();
        let mut held = Vec::new();
        for plan in self.plan(events).await? {
            match plan {
                Plan::Done => {}
                Plan::Resume(d) => self.schedule_retry(&d).await?,
                Plan::New(ep, event, xprofile) => {
                    let ep = *ep;
                    let id = delivery_id(&event.event_id, ep.id());
                    let d = match self.new_delivery(&ep, event, xprofile.as_ref(), id) {
                        Ok(d) => d,
                        Err(d) => {
                            self.record_unrendered(&ep, d, Trigger::Scheduled, None)
                                .await?;
                            continue;
                        }
                    };
                    if ep.is_paused() {
                        // Kept, not sent (docs/reference/outgoing.md#pause-and-throttle); a FIFO
                        // endpoint's stay in its line, in publish order, for the resume.
                        let d = Delivery {
                            status: DeliveryStatus::Held,
                            ..d
                        };
                        if ep.is_fifo() {
                            self.deliveries.create_in_line(&d).await?;
                        } else {
                            held.push(d);
                        }
                    } else if ep.is_fifo() {
                        self.deliveries.create_in_line(&d).await?;
                        lines.insert(ep.id());
                    } else {
                        sends.push(self.fast_lane(ep, d));
                    }
                }
            }
        }
        for chunk in held.chunks(100) {
            let records: Vec<&Delivery> = chunk.iter().collect();
            self.deliveries.create_batch(&records).await?;
        }
        // Sending and recording run side by side: attempts are recorded as they finish, in
        // chunks of whatever is ready (up to 100), while the next ones are being sent. A slow
        // endpoint never holds back the records of the others, and a record being written
        // never holds back a send.
        let (finished, mut ready) = tokio::sync::mpsc::unbounded_channel();
        let sending = async move {
            stream::iter(sends)
                .buffer_unordered(self.config.dispatch_concurrency)
                .for_each(|r| {
                    let _ = finished.send(r);
                    async {}
                })
                .await;
            Ok(())
        };
        let recording = async {
            let mut failed = None;
            let mut chunk = Vec::with_capacity(100);
            while ready.recv_many(&mut chunk, 100).await > 0 {
                let mut sent = Vec::with_capacity(chunk.len());
                for r in chunk.drain(..) {
                    match r {
                        Ok(s) => sent.push(s),
                        Err(e) => failed = Some(e),
                    }
                }
                self.record_first_attempts(sent).await?;
            }
            Ok::<_, crate::error::Error>(failed)
        };
        // A record that cannot be written fails the message at once: the sends still running
        // are dropped, as before (SQS redelivers; what was recorded is skipped).
        let ((), failed) = tokio::try_join!(sending, recording)?;
        for webhook_id in lines {
            self.kick_line(webhook_id, 0).await?;
        }
        failed.map_or(Ok(()), Err)
    }

    /// Matches the events against the active (and paused) endpoints and reads which deliveries
    /// exist.
    async fn plan<'a>(&self, events: &'a [Event]) -> Result<Vec<Plan<'a>>> {
        let endpoints: Vec<OutgoingWebhook> = self
            .webhooks
            .all()
            .await?
            .into_iter()
            .filter(|e| e.is_active() || e.is_paused())
            .collect();
        let mut jobs = Vec::new();
        for event in events {
            self.notify_operator(event).await?;
            let targets: Vec<&OutgoingWebhook> = endpoints
                .iter()
                .filter(|e| e.subscribed(event.event))
                .collect();
            if targets.is_empty() {
                continue;
            }
            let xprofile = self.xprofile_for(event).await?;
            for ep in targets {
                // A filter that refuses the event makes no delivery record
                // (docs/reference/outgoing.md#filters-and-secret-rotation).
                let id = delivery_id(&event.event_id, ep.id());
                if !ep.passes(|| {
                    EventContext::of(event, ep.id(), &id, xprofile.as_ref()).payload_json()
                }) {
                    continue;
                }
                jobs.push((ep.clone(), event, xprofile.clone()));
            }
        }
        if jobs.is_empty() {
            return Ok(vec![]);
        }
        let wanted: Vec<(i64, String)> = jobs
            .iter()
            .map(|(ep, ev, _)| (ep.id(), delivery_id(&ev.event_id, ep.id())))
            .collect();
        let mut existing = self.deliveries.existing(&wanted).await?;
        Ok(jobs
            .into_iter()
            .map(|(ep, event, xprofile)| {
                match existing.remove(&delivery_id(&event.event_id, ep.id())) {
                    Some(d) if d.status != DeliveryStatus::Pending => Plan::Done,
                    // Waiting for a retry, in the slow lane or in a FIFO line.
                    Some(d) => Plan::Resume(d),
                    None => Plan::New(Box::new(ep), event, xprofile),
                }
            })
            .collect())
    }

    /// A first attempt within the fast lane's budget; beyond it (or while the endpoint's
    /// breaker is open) the delivery is handed to the slow lane.
    async fn fast_lane(&self, ep: OutgoingWebhook, mut d: Delivery) -> Result<Sent> {
        if self
            .take_turn(&ep, std::time::Duration::ZERO)
            .await?
            .is_some()
        {
            // Throttled: it waits on the slow lane, holding no one's send
            // (docs/reference/outgoing.md#pause-and-throttle).
            d.next_attempt_at = Some(time::now_s());
            return Ok(Sent {
                ep,
                d,
                outcome: None,
            });
        }
        if self.config.fast_lane_ms == 0 {
            let outcome = self.send_attempt(&ep, &mut d, Trigger::Scheduled).await?;
            return Ok(Sent {
                ep,
                d,
                outcome: Some(outcome),
            });
        }
        let now = std::time::Instant::now();
        let budget = std::time::Duration::from_millis(self.config.fast_lane_ms);
        if !self.lanes.is_open(ep.id(), now, budget + budget / 2) {
            let mut tried = d.clone();
            let attempt = self.send_attempt(&ep, &mut tried, Trigger::Scheduled);
            match tokio::time::timeout(budget, attempt).await {
                Ok(outcome) => {
                    let outcome = outcome?;
                    self.lanes.close(ep.id());
                    return Ok(Sent {
                        ep,
                        d: tried,
                        outcome: Some(outcome),
                    });
                }
                Err(_) => {
                    tracing::warn!(webhook_id = ep.id(), "fast-lane budget exceeded: slow lane");
                    self.lanes.trip(ep.id(), now);
                }
            }
        }
        d.next_attempt_at = Some(time::now_s());
        Ok(Sent {
            ep,
            d,
            outcome: None,
        })
    }

    /// Records first attempts in batches, then what follows each: endpoint health (plain
    /// successes batched too, and only when they change it), retries, slow-lane hand-offs.
    async fn record_first_attempts(&self, sent: Vec<Sent>) -> Result<()> {
        let records: Vec<&Delivery> = sent.iter().map(|s| &s.d).collect();
        let created = self.deliveries.create_batch(&records).await?;
        let now = time::now();
        // Hand-offs to the slow lane first (10 per SQS call), then each attempt's aftermath.
        let handoffs: Vec<RetryRef> = sent
            .iter()
            .zip(&created)
            .filter(|(s, created)| **created && s.outcome.is_none())
            .map(|(s, _)| RetryRef {
                webhook_id: s.ep.id(),
                delivery_id: s.d.id.clone(),
                attempt: 1,
                not_before: now.as_second(),
            })
            .collect();
        self.enqueue_retries(&handoffs).await?;
        let mut succeeded = std::collections::BTreeSet::new();
        for (s, created) in sent.iter().zip(created) {
            if !created {
                tracing::info!(delivery_id = %s.d.id, "attempt already recorded elsewhere");
                continue;
            }
            let Some((outcome, step, at)) = &s.outcome else {
                continue;
            };
            log_attempt(&s.ep, &s.d, outcome);
            if step.health == HealthChange::Succeeded {
                if s.ep.success_changes_health(*at) {
                    succeeded.insert(s.ep.id());
                }
            } else {
                self.record_health(&s.ep, step.health, outcome, *at).await?;
            }
            if step.schedule {
                self.schedule_retry(&s.d).await?;
            }
        }
        let ids: Vec<i64> = succeeded.into_iter().collect();
        self.webhooks.all_succeeded(&ids, now).await
    }

    /// The event's `xprofile`, or the member's from the store when only `user_id` is known.
    async fn xprofile_for(&self, event: &Event) -> Result<Option<Value>> {
        match (&event.xprofile, event.user_id) {
            (Some(x), _) => Ok(Some(x.clone())),
            (None, Some(uid)) => Ok(self
                .members
                .by_id(uid)
                .await?
                .and_then(|s| s.member)
                .map(|m| m.xprofile())),
            _ => Ok(None),
        }
    }

    /// Sends one attempt of `d` to `ep` and applies the state machine's step to it (nothing is
    /// written): the outcome, the step, and when the attempt was made.
    async fn send_attempt(
        &self,
        ep: &OutgoingWebhook,
        d: &mut Delivery,
        trigger: Trigger,
    ) -> Result<(SendOutcome, Step, jiff::Timestamp)> {
        let prev = d.total_attempts();
        let slot = self.lanes.send_slot().await?;
        let now = time::now();
        let headers = signed_headers(
            &ep.config,
            d.event.as_str(),
            &d.id,
            d.content_type(),
            &d.payload,
            now.as_second(),
        );
        let outcome = self.sender.post(&ep.config.url, &headers, &d.payload).await;
        drop(slot);
        d.push_attempt(Attempt {
            attempt: 0,
            attempted_at: time::second(now),
            request_headers: loggable_headers(&headers, &ep.config),
            response_code: outcome.status,
            response_body: outcome.body_excerpt.clone(),
            response_time: outcome.duration_ms,
            error: outcome.error.clone(),
        });
        let step = machine::after_attempt(
            d,
            outcome.outcome(),
            trigger,
            ep.config.retry_count,
            prev,
            ep.health(),
            now,
            rand::random::<f64>(),
        );
        step.apply(d);
        Ok((outcome, step, now))
    }

    /// Sends one attempt of `d` to `ep`, records it, and decides what comes next.
    pub async fn attempt(
        &self,
        ep: &OutgoingWebhook,
        mut d: Delivery,
        trigger: Trigger,
    ) -> Result<Delivery> {
        let prev = d.total_attempts();
        let (outcome, step, now) = self.send_attempt(ep, &mut d, trigger).await?;
        // A first attempt creates the record, unless it already exists without an attempt
        // (FIFO line, slow lane): then it is saved over that one.
        let saved =
            (prev == 0 && trigger == Trigger::Scheduled && self.deliveries.create(&d).await?)
                || self.deliveries.save(&d, prev).await?;
        if !saved {
            // Another processor recorded this attempt first: its outcome stands.
            tracing::info!(delivery_id = %d.id, "attempt already recorded elsewhere");
            return Ok(d);
        }
        log_attempt(ep, &d, &outcome);
        Observation::Attempt {
            endpoint_id: ep.id(),
            outcome: &d.status.to_string(),
            latency_ms: outcome.duration_ms,
        }
        .emit();
        self.record_health(ep, step.health, &outcome, now).await?;
        if step.schedule {
            self.schedule_retry(&d).await?;
        }
        Ok(d)
    }
}

/// How long the oldest of `events` waited between its publish and this fan-out.
fn observe_queue_age(events: &[Event]) {
    let now = time::now().as_millisecond();
    let oldest = events
        .iter()
        .filter_map(|e| e.timestamp.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
        .min();
    if let Some(at) = oldest {
        Observation::QueueAge {
            seconds: (now - at).max(0) as f64 / 1000.0,
            events: events.len(),
        }
        .emit();
    }
}

fn log_attempt(ep: &OutgoingWebhook, d: &Delivery, outcome: &SendOutcome) {
    tracing::info!(
        delivery_id = %d.id, webhook_id = ep.id(), event = %d.event, attempt = d.total_attempts(),
        status = ?outcome.status, duration_ms = outcome.duration_ms, outcome = %d.status, "delivery attempt"
    );
}
