//! Consuming the event queue: one message = one outbox batch.

use super::App;
use crate::domain::events::EventBatch;
use crate::error::{Error, Result};

impl App {
    /// Handles one queue message. Idempotent: a batch already handled (no longer in the outbox)
    /// is acknowledged without doing anything again.
    pub async fn handle_message(&self, body: &str) -> Result<()> {
        let batch: EventBatch = match serde_json::from_str(body) {
            Ok(b) => b,
            Err(e) => {
                // A message that can never be parsed would only loop until the DLQ: drop it loudly.
                tracing::error!(error = %e, "dropping an unreadable queue message");
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
        for event in &batch.events {
            tracing::info!(event_id = %event.event_id, event = %event.event, "event received");
        }
        self.store
            .delete_outbox(batch.shard, &batch.batch_id)
            .await
            .map_err(|e| Error::dep(format!("could not acknowledge batch: {e}")))
    }
}
