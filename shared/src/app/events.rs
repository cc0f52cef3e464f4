//! Committing changes together with their events (the outbox), then the fast path to SQS.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::App;
use crate::domain::events::{Event, EventBatch};
use crate::error::Result;
use crate::store::TxResult;

impl App {
    /// Writes `items` and, in the same transaction, an outbox batch with `events`; after the
    /// commit the batch is sent to SQS. A failed send is only logged: the sweeper re-sends
    /// whatever stays in the outbox.
    pub async fn commit_with_events<T: Clone>(
        &self,
        mut items: Vec<(T, TransactWriteItem)>,
        events: Vec<Event>,
        outbox_tag: T,
    ) -> Result<TxResult<T>> {
        let batch = (!events.is_empty()).then(|| EventBatch::new(events));
        if let Some(b) = &batch {
            items.push((outbox_tag, self.store.put_outbox(b)?));
        }
        let result = self.store.transact(items).await?;
        if result.is_ok() {
            if let Some(b) = &batch {
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
