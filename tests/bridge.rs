//! The SQS → `dispatch` bridge of `make dev` (an event source mapping, played locally): polls a
//! queue for batches of up to 10 with a visibility timeout, keeps up to `concurrency` batches in
//! flight like Lambda's concurrent pollers, invokes `dispatch` with each batch as an SQS event,
//! then deletes every message except the reported batch item failures (on an invocation error,
//! none: the whole batch returns after the visibility timeout).
//!
//! `local bridge` invokes the real function over the Runtime API; the isolation test invokes
//! an in-process app — through this same poller.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

/// Batches in flight per queue, as `make dev` runs the bridge (`BRIDGE_CONCURRENCY`).
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Invokes `dispatch` with an SQS event; `None` when the invocation itself failed.
pub type Invoke =
    Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Option<Vec<String>>> + Send>> + Send + Sync>;

#[derive(Clone)]
pub struct Poller {
    pub sqs: aws_sdk_sqs::Client,
    pub invoke: Invoke,
    pub visibility: i32,
    pub concurrency: usize,
}

impl Poller {
    /// Polls `queue_url` forever (abort the task to stop it).
    pub async fn run(self, queue_url: String) {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.concurrency.max(1)));
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(self.visibility)
                .wait_time_seconds(1)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await;
            let messages = match received {
                Ok(r) => r.messages.unwrap_or_default(),
                Err(e) => {
                    eprintln!(
                        "bridge: receive failed: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(e)
                    );
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                continue;
            }
            let permit = match slots.clone().acquire_owned().await {
                Ok(p) => p,
                Err(_) => return,
            };
            let (me, url) = (self.clone(), queue_url.clone());
            tokio::spawn(async move {
                me.invoke_batch(&url, messages).await;
                drop(permit);
            });
        }
    }

    /// One batch: invoke `dispatch`, then delete every message but the reported failures.
    async fn invoke_batch(&self, queue_url: &str, messages: Vec<aws_sdk_sqs::types::Message>) {
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": {"ApproximateReceiveCount": m.attributes().and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)).cloned().unwrap_or_else(|| "1".into())},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:local",
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        let Some(failures) = (self.invoke)(json!({ "Records": records })).await else {
            return; // the whole batch returns to the queue after the visibility timeout
        };
        for m in &messages {
            if failures.iter().any(|f| Some(f.as_str()) == m.message_id()) {
                continue;
            }
            if let Some(h) = m.receipt_handle() {
                if let Err(e) = self
                    .sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(h)
                    .send()
                    .await
                {
                    eprintln!(
                        "bridge: delete failed: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(e)
                    );
                }
            }
        }
    }
}

/// `batchItemFailures` of a dispatch response.
pub fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Invokes the `dispatch` function served at `url` (the Runtime API's invoke endpoint).
pub fn http_invoke(http: reqwest::Client, url: String) -> Invoke {
    Arc::new(move |event: Value| {
        let (http, url) = (http.clone(), url.clone());
        Box::pin(async move {
            match http.post(&url).json(&event).send().await {
                Ok(r) if r.status().is_success() => {
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    if v.get("errorType").is_some() {
                        eprintln!("bridge: dispatch failed: {v}");
                        return None;
                    }
                    Some(failures(&v))
                }
                Ok(r) => {
                    eprintln!("bridge: dispatch answered {}", r.status());
                    None
                }
                Err(e) => {
                    eprintln!("bridge: dispatch unreachable: {e}");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    None
                }
            }
        })
    })
}

/// `dispatch` in process, as the bridge would invoke the function: the batch as an SQS event,
/// the batch item failures back.
pub fn in_process(app: Arc<switchboard::app::App>) -> Invoke {
    Arc::new(move |event: Value| {
        let app = app.clone();
        Box::pin(async move {
            let event: aws_lambda_events::event::sqs::SqsEvent =
                serde_json::from_value(event).ok()?;
            let r = switchboard::transport::sqs::handle(app.deliveries(), &event, None).await;
            Some(
                r.batch_item_failures
                    .into_iter()
                    .map(|f| f.item_identifier)
                    .collect(),
            )
        })
    })
}
