//! Committing changes together with their events (the outbox), then the fast path to SQS.

use aws_sdk_dynamodb::types::TransactWriteItem;

use std::sync::Arc;

use crate::config::Config;
use crate::domain::events::OutboxEntry;
use crate::domain::events::{Event, EventBatch};
use crate::domain::incoming::limits;
use crate::domain::time;
use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::store::{Store, TxResult};

/// Re-sends of one outbox batch before it is parked.
pub const MAX_OUTBOX_SENDS: u32 = 5;

/// The outbox: changes committed with their events, then sent to the event queue.
#[derive(Clone, Debug)]
pub struct Outbox {
    store: Store,
    queue: Queue,
    config: Arc<Config>,
}

impl Outbox {
    pub(crate) fn new(store: Store, queue: Queue, config: Arc<Config>) -> Self {
        Self {
            store,
            queue,
            config,
        }
    }

    /// Writes `items` and, in the same transaction, outbox batches with `events` (one unless
    /// they exceed an SQS message); after the commit the batches are sent to SQS in order. A failed send is only logged: the sweeper re-sends
    /// whatever stays in the outbox.
    pub async fn commit_with_events<T: Clone>(
        &self,
        mut items: Vec<(T, TransactWriteItem)>,
        events: Vec<Event>,
        outbox_tag: T,
    ) -> Result<TxResult<T>> {
        let batches = EventBatch::pack(events, limits::OUTBOX_ITEM_MAX_BYTES);
        for b in &batches {
            items.push((outbox_tag.clone(), self.store.put_outbox(b)?));
        }
        let result = self.store.transact(items).await?;
        if result.is_ok() {
            for b in &batches {
                self.publish_batch(b).await;
            }
        }
        Ok(result)
    }

    /// Sends a committed batch to the queue; a failure leaves it to the sweeper.
    pub async fn publish_batch(&self, batch: &EventBatch) {
        if let Err(e) = self.queue.send_batch(batch).await {
            tracing::warn!(error = %e, batch_id = %batch.batch_id, "queue send failed; the outbox sweeper will re-send");
        }
    }

    /// Re-sends outbox batches older than the grace period (the sweeper's job): each re-send is
    /// claimed first (conditional on the attempts read), a claimed batch is not re-sent again
    /// within the grace period (its lease: a busy `dispatch` finishes well within it), and a
    /// batch re-sent [`MAX_OUTBOX_SENDS`] times without being fanned out is parked — logged as
    /// `outbox batch parked` (the template's alarm counts those), listed by `GET /admin/outbox`
    /// and redriven by an operator.
    pub async fn sweep(&self) -> Result<usize> {
        let grace = self.config.outbox_grace_seconds;
        let now = time::now().as_second();
        let mut sent = 0;
        for e in self.store.stale_outbox(grace).await? {
            let leased = e.sent_at.is_some_and(|t| now - t < grace.max(0));
            if e.parked || leased {
                continue;
            }
            if e.attempts >= MAX_OUTBOX_SENDS {
                if self.store.park_outbox(&e).await? {
                    tracing::error!(
                        batch_id = %e.batch.batch_id,
                        attempts = e.attempts,
                        events = e.batch.events.len(),
                        "outbox batch parked"
                    );
                }
                continue;
            }
            if self.store.claim_outbox(&e, now).await? && self.queue.send(e.body, 0).await.is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Parked outbox batches (oldest first) and how many batches wait in the outbox in all.
    pub async fn status(&self) -> Result<(Vec<OutboxEntry>, usize)> {
        let all = self.store.outbox_entries().await?;
        let total = all.len();
        let mut parked: Vec<OutboxEntry> = all.into_iter().filter(|e| e.parked).collect();
        parked.sort_by(|a, b| a.batch.batch_id.cmp(&b.batch.batch_id));
        Ok((parked, total))
    }

    /// Sends a parked batch to the queue again (its re-send count starts over); `404` when no
    /// parked batch has this id.
    pub async fn redrive(&self, batch_id: &str) -> Result<()> {
        let shard = EventBatch::shard_of_id(batch_id)
            .ok_or_else(|| Error::NotFound("No parked outbox batch has this id.".into()))?;
        let body = self
            .store
            .redrive_outbox(shard, batch_id, time::now().as_second())
            .await?
            .ok_or_else(|| Error::NotFound("No parked outbox batch has this id.".into()))?;
        self.queue.send(body, 0).await?;
        tracing::info!(batch_id, "outbox batch redriven");
        Ok(())
    }
}
