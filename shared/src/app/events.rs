//! Committing changes together with their events (the outbox), then the fast path to SQS.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::App;
use crate::domain::events::{Event, EventBatch};
use crate::domain::incoming::limits;
use crate::error::Result;
use crate::store::TxResult;

impl App {
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

    /// Re-sends outbox batches older than the grace period (the sweeper's job).
    pub async fn sweep_outbox(&self) -> Result<usize> {
        let stale = self
            .store
            .stale_outbox(self.config.outbox_grace_seconds)
            .await?;
        let mut sent = 0;
        for (_, body) in stale {
            if self.queue.send(body, 0).await.is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
