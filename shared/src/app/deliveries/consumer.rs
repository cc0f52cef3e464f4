//! The queue consumer: routes each message (event batch, retry, job) and reports, per SQS
//! batch, only the records that failed.

use std::time::Instant;

use serde_json::Value;

use super::jobs::JobMessage;
use super::retries::RetryMessage;
use super::Deliveries;
use crate::domain::events::EventBatch;
use crate::error::Result;

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

    /// One SQS batch, as the event source mapping delivers it: every record concurrently; the
    /// ones that fail are reported so that only they return to the queue.
    pub async fn handle_sqs_event(
        &self,
        event: &aws_lambda_events::event::sqs::SqsEvent,
    ) -> aws_lambda_events::event::sqs::SqsBatchResponse {
        self.handle_sqs_event_until(event, None).await
    }

    /// [`Deliveries::handle_sqs_event`] within an invocation that must end by `deadline`: no send
    /// starts when one attempt no longer fits, and the records concerned are reported failed.
    pub async fn handle_sqs_event_until(
        &self,
        event: &aws_lambda_events::event::sqs::SqsEvent,
        deadline: Option<Instant>,
    ) -> aws_lambda_events::event::sqs::SqsBatchResponse {
        self.lanes.set_deadline(deadline);
        // Event batches fan out together (one endpoints read, one existence read, records in
        // transactions of 100 for the whole invocation); the rest one by one.
        let (together, handled_together) = self.fan_out_records(&event.records).await;
        let rest = event
            .records
            .iter()
            .filter(|r| !together.contains(&r.message_id.clone().unwrap_or_default()));
        let mut handled = futures::future::join_all(rest.map(|r| async move {
            let redelivered = r
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse::<u32>().ok())
                .is_some_and(|c| c > 1);
            let ok = match r.body.as_deref() {
                Some(body) => self.handle_received(body, redelivered).await.is_ok(),
                None => true,
            };
            (r.message_id.clone().unwrap_or_default(), ok)
        }))
        .await;
        handled.extend(handled_together);
        self.lanes.set_deadline(None);
        let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
        for (id, ok) in handled {
            if !ok {
                tracing::warn!(message_id = %id, "record failed; it returns to the queue");
                response.add_failure(id);
            }
        }
        response
    }

    /// Fans out every event batch of an SQS batch at once. Returns the message ids it took and
    /// their results; when the joint fan-out fails, it takes none (each is then handled on its
    /// own, so one bad record cannot hold the others back).
    async fn fan_out_records(
        &self,
        records: &[aws_lambda_events::event::sqs::SqsMessage],
    ) -> (std::collections::BTreeSet<String>, Vec<(String, bool)>) {
        let batches: Vec<(String, EventBatch)> = records
            .iter()
            .filter_map(|r| {
                let v: Value = serde_json::from_str(r.body.as_deref()?).ok()?;
                if v.get("retry").is_some() || JobMessage::parse(&v).is_some() {
                    return None;
                }
                let b: EventBatch = serde_json::from_value(v).ok()?;
                Some((r.message_id.clone().unwrap_or_default(), b))
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
        let present = self.store.outbox_present(&all).await?;
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
        for b in live {
            self.store.delete_outbox(b.shard, &b.batch_id).await?;
        }
        Ok(())
    }
}
