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

/// What a queue message carries, read once.
enum Message {
    Batch(EventBatch),
    Retry(RetryMessage),
    Job(JobMessage),
    /// Not readable as any of them: logged and dropped (it would fail the same way again).
    Malformed(&'static str, String),
}

impl Message {
    fn parse(body: &str) -> Self {
        let value: Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(e) => return Self::Malformed("an unreadable queue message", e.to_string()),
        };
        if value.get("retry").is_some() {
            return match serde_json::from_value::<RetryMessage>(value) {
                Ok(m) => Self::Retry(m),
                Err(e) => Self::Malformed("a malformed retry message", e.to_string()),
            };
        }
        if let Some(job) = JobMessage::parse(&value) {
            return Self::Job(job);
        }
        match serde_json::from_value(value) {
            Ok(b) => Self::Batch(b),
            Err(e) => Self::Malformed("a malformed event batch", e.to_string()),
        }
    }
}

impl Deliveries {
    /// Handles one queue message (first receipt); an `Err` returns it to the queue.
    pub async fn handle_message(&self, body: &str) -> Result<()> {
        self.handle_received(body, false).await
    }

    /// Handles one queue message; `redelivered` when SQS delivered it before.
    pub async fn handle_received(&self, body: &str, redelivered: bool) -> Result<()> {
        self.handle_parsed(Message::parse(body), redelivered).await
    }

    async fn handle_parsed(&self, message: Message, redelivered: bool) -> Result<()> {
        match message {
            Message::Retry(m) => self.retry(m.retry, redelivered).await,
            Message::Job(job) => self.run_job(job).await,
            Message::Batch(batch) => {
                if !self.outbox.contains(batch.shard, &batch.batch_id).await? {
                    tracing::info!(batch_id = %batch.batch_id, "batch already handled");
                    return Ok(());
                }
                self.fan_out(&batch.events).await?;
                self.outbox.delete(batch.shard, &batch.batch_id).await
            }
            Message::Malformed(what, error) => {
                tracing::error!(%error, "dropping {what}");
                Ok(())
            }
        }
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
        let (batches, rest): (Vec<_>, Vec<_>) = records
            .iter()
            .filter_map(|r| Some((r, Message::parse(r.body.as_deref()?))))
            .partition(|(_, m)| matches!(m, Message::Batch(_)));
        let batches: Vec<(&Received, EventBatch)> = batches
            .into_iter()
            .filter_map(|(r, m)| match m {
                Message::Batch(b) => Some((r, b)),
                _ => None,
            })
            .collect();
        // Event batches fan out together (one endpoints read, one existence read, records in
        // transactions of 100 for the whole invocation); the rest one by one.
        let (one_by_one, mut handled) = self.fan_out_records(batches).await;
        let rest = rest
            .into_iter()
            .chain(one_by_one.into_iter().map(|(r, b)| (r, Message::Batch(b))));
        handled.extend(
            futures::future::join_all(rest.map(|(r, m)| async move {
                let ok = self.handle_parsed(m, r.redelivered).await.is_ok();
                (r.message_id.clone(), ok)
            }))
            .await,
        );
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

    /// Fans out every event batch of an SQS batch at once and returns their results; when
    /// there are fewer than two, or the joint fan-out fails, it hands them all back to be
    /// handled one by one (so one bad record cannot hold the others back).
    async fn fan_out_records<'r>(
        &self,
        batches: Vec<(&'r Received, EventBatch)>,
    ) -> (Vec<(&'r Received, EventBatch)>, Vec<(String, bool)>) {
        if batches.len() < 2 {
            return (batches, vec![]);
        }
        let all: Vec<&EventBatch> = batches.iter().map(|(_, b)| b).collect();
        match self.fan_out_batches(all).await {
            Ok(()) => (
                vec![],
                batches
                    .into_iter()
                    .map(|(r, _)| (r.message_id.clone(), true))
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "joint fan-out failed; handling the batches one by one");
                (batches, vec![])
            }
        }
    }

    async fn fan_out_batches(&self, all: Vec<&EventBatch>) -> Result<()> {
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
