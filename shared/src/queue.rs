//! SQS: the event queue between the sources and `dispatch`.

use crate::aws::OrUnavailable;
use crate::domain::events::EventBatch;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Queue {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
    /// The slow lane (see `app::lanes`); the event queue itself when not configured.
    pub slow_url: Option<String>,
}

impl Queue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
            slow_url: None,
        }
    }

    pub fn with_slow_lane(mut self, slow_url: Option<String>) -> Self {
        self.slow_url = slow_url;
        self
    }

    /// Sends one outbox batch as one message.
    pub async fn send_batch(&self, batch: &EventBatch) -> Result<()> {
        let body = serde_json::to_string(batch).map_err(Error::dep)?;
        self.send(body, 0).await
    }

    /// Sends a raw message body with a delay (0–900 s).
    pub async fn send(&self, body: String, delay_seconds: i32) -> Result<()> {
        self.send_to(&self.url, body, delay_seconds).await
    }

    /// Sends a message to the slow lane.
    pub async fn send_slow(&self, body: String, delay_seconds: i32) -> Result<()> {
        let url = self.slow_url.as_deref().unwrap_or(&self.url);
        self.send_to(url, body, delay_seconds).await
    }

    /// Sends messages to the slow lane, 10 per `SendMessageBatch`; any entry SQS refuses fails
    /// the whole call (the caller's message is then redelivered, and its work is idempotent).
    pub async fn send_slow_all(&self, messages: Vec<(String, i32)>) -> Result<()> {
        let url = self.slow_url.as_deref().unwrap_or(&self.url);
        for chunk in messages.chunks(10) {
            let refused = self.send_chunk(url, chunk).await?;
            if !refused.is_empty() {
                return Err(Error::Dependency(format!(
                    "SendMessageBatch: {} of {} messages refused",
                    refused.len(),
                    chunk.len()
                )));
            }
        }
        Ok(())
    }

    /// Sends `bodies` to the event queue in order, 10 per `SendMessageBatch`: how many of them,
    /// from the first, SQS took before the first refusal, and the error that stopped it.
    pub async fn send_in_order(&self, bodies: Vec<String>) -> (usize, Option<Error>) {
        let messages: Vec<(String, i32)> = bodies.into_iter().map(|b| (b, 0)).collect();
        let mut taken = 0;
        for chunk in messages.chunks(10) {
            match self.send_chunk(&self.url, chunk).await {
                Ok(refused) => match refused.first() {
                    None => taken += chunk.len(),
                    Some(&first) => {
                        let e = Error::Dependency(format!(
                            "SendMessageBatch: {} of {} messages refused",
                            refused.len(),
                            chunk.len()
                        ));
                        return (taken + first, Some(e));
                    }
                },
                Err(e) => return (taken, Some(e)),
            }
        }
        (taken, None)
    }

    /// One `SendMessageBatch` of up to 10 messages: the positions SQS refused, in order.
    async fn send_chunk(&self, url: &str, chunk: &[(String, i32)]) -> Result<Vec<usize>> {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, (body, delay))| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .delay_seconds((*delay).clamp(0, 900))
                    .build()
                    .map_err(Error::dep)
            })
            .collect::<Result<Vec<_>>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .or_unavailable("SendMessageBatch")?;
        let mut refused: Vec<usize> = out
            .failed
            .iter()
            .filter_map(|f| f.id.parse().ok())
            .collect();
        refused.sort_unstable();
        Ok(refused)
    }

    async fn send_to(&self, url: &str, body: String, delay_seconds: i32) -> Result<()> {
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(delay_seconds.clamp(0, 900))
            .send()
            .await
            .or_unavailable("SendMessage")?;
        Ok(())
    }
}
