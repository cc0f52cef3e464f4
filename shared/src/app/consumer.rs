//! The queue consumer: routes each message (event batch, retry, job) and reports, per SQS
//! batch, only the records that failed.

use std::time::Instant;

use serde_json::Value;

use super::jobs::JobMessage;
use super::retries::RetryMessage;
use super::App;
use crate::domain::events::EventBatch;
use crate::error::Result;

impl App {
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

    /// [`App::handle_sqs_event`] within an invocation that must end by `deadline`: no send
    /// starts when one attempt no longer fits, and the records concerned are reported failed.
    pub async fn handle_sqs_event_until(
        &self,
        event: &aws_lambda_events::event::sqs::SqsEvent,
        deadline: Option<Instant>,
    ) -> aws_lambda_events::event::sqs::SqsBatchResponse {
        self.lanes.set_deadline(deadline);
        let handled = futures::future::join_all(event.records.iter().map(|r| async move {
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
}
