//! The queue consumer: routes each message (event batch, retry, job) and reports, per SQS
//! batch, only the records that failed.

use std::time::Instant;

use serde_json::Value;

use super::jobs::JobMessage;
use super::retries::RetryMessage;
use super::Deliveries;
use crate::domain::events::EventBatch;
use crate::error::Result;

/// One received queue message, as the transport's SQS adapter hands it over.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub message_id: String,
    pub body: Option<String>,
    /// SQS delivered it before (`ApproximateReceiveCount` > 1).
    pub redelivered: bool,
}

impl Deliveries {
    /// Handles one queue message (first receipt); an `Err` returns it to the queue.
    pub async fn handle_message(&self, body: &str) -> Result<()> {
        self.handle_received(body, false).await
    }

    /// Handles one queue message; `redelivered` when SQS delivered it before.
    pub async fn handle_received(&self, body: &str, redelivered: bool) -> Result<()> {
        let value: Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "dropping an unreadable queue message");
                return Ok(());
            }
        };
        if value.get("retry").is_some() {
            return match serde_json::from_value::<RetryMessage>(value) {
                Ok(m) => self.retry(m.retry, redelivered).await,
                Err(e) => {
                    tracing::error!(error = %e, "dropping a malformed retry message");
                    Ok(())
                }
            };
        }
        if let Some(job) = JobMessage::parse(&value) {
            return self.run_job(job).await;
        }
        let batch: EventBatch = match serde_json::from_value(value) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "dropping a malformed event batch");
                return Ok(());
            }
        };
        if !self.outbox.contains(batch.shard, &batch.batch_id).await? {
            tracing::info!(batch_id = %batch.batch_id, "batch already handled");
            return Ok(());
        }
        self.fan_out(&batch.events).await?;
        self.outbox.delete(batch.shard, &batch.batch_id).await
    }

    /// One batch of received messages (as the event source mapping delivers them), within an
    /// invocation that must end by `deadline`: every record concurrently, no send starting when
    /// one attempt no longer fits. Returns the message ids that failed: only they return to the
    /// queue.
    pub async fn handle_batch(
        &self,
        records: &[Received],
        deadline: Option<Instant>,
    ) -> Vec<String> {
        self.lanes.set_deadline(deadline);
        // Event batches fan out together (one endpoints read, one existence read, records in
        // transactions of 100 for the whole invocation); the rest one by one.
        let (together, handled_together) = self.fan_out_records(records).await;
        let rest = records.iter().filter(|r| !together.contains(&r.message_id));
        let mut handled = futures::future::join_all(rest.map(|r| async move {
            let ok = match r.body.as_deref() {
                Some(body) => self.handle_received(body, r.redelivered).await.is_ok(),
                None => true,
            };
            (r.message_id.clone(), ok)
        }))
        .await;
        handled.extend(handled_together);
        self.lanes.set_deadline(None);
        let mut failed = Vec::new();
        for (id, ok) in handled {
            if !ok {
                tracing::warn!(message_id = %id, "record failed; it returns to the queue");
                failed.push(id);
            }
        }
        failed
    }

    /// Fans out every event batch of an SQS batch at once. Returns the message ids it took and
    /// their results; when the joint fan-out fails, it takes none (each is then handled on its
    /// own, so one bad record cannot hold the others back).
    async fn fan_out_records(
        &self,
        records: &[Received],
    ) -> (std::collections::BTreeSet<String>, Vec<(String, bool)>) {
        let batches: Vec<(String, EventBatch)> = records
            .iter()
            .filter_map(|r| {
                let v: Value = serde_json::from_str(r.body.as_deref()?).ok()?;
                if v.get("retry").is_some() || JobMessage::parse(&v).is_some() {
                    return None;
                }
                let b: EventBatch = serde_json::from_value(v).ok()?;
                Some((r.message_id.clone(), b))
            })
            .collect();
        if batches.len() < 2 {
            return Default::default();
        }
        match self.fan_out_batches(&batches).await {
            Ok(()) => (
                batches.iter().map(|(id, _)| id.clone()).collect(),
                batches.into_iter().map(|(id, _)| (id, true)).collect(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "joint fan-out failed; handling the batches one by one");
                Default::default()
            }
        }
    }

    async fn fan_out_batches(&self, batches: &[(String, EventBatch)]) -> Result<()> {
        let all: Vec<&EventBatch> = batches.iter().map(|(_, b)| b).collect();
        let present = self.outbox.present(&all).await?;
        // Present in the outbox, and once (the sweeper may have re-sent a batch).
        let mut seen = std::collections::BTreeSet::new();
        let live: Vec<&EventBatch> = all
            .into_iter()
            .filter(|b| present.contains(&b.batch_id) && seen.insert(b.batch_id.clone()))
            .collect();
        let events: Vec<crate::domain::events::Event> =
            live.iter().flat_map(|b| b.events.iter().cloned()).collect();
        if !events.is_empty() {
            self.fan_out(&events).await?;
        }
        self.outbox.delete_batches(&live).await
    }
}
