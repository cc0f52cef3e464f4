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

/// Records per stream batch, as the template's relay mapping (`BatchSize`).
pub const STREAM_BATCH_SIZE: usize = 100;

/// Invokes `relay` with a DynamoDB Stream event: the reported failures (sequence numbers), or
/// `None` when the invocation itself failed.
pub type StreamInvoke = Invoke;

/// Where one shard's reading stands.
#[derive(Clone, Debug, Default)]
struct ShardCursor {
    /// The last record handled (the next read starts after it).
    after: Option<String>,
    /// A live iterator from the last read.
    iterator: Option<String>,
    /// The batch size while bisecting a failing batch (`None`: the full size).
    bisect: Option<usize>,
    /// The shard is closed and read to its end.
    done: bool,
    /// The last batch reported a failure: the next read starts at the failed record.
    failed: bool,
}

/// The DynamoDB Stream → `relay` bridge (the stream event source mapping, played locally):
/// reads every shard of the table's stream from `start` (`LATEST` or `TRIM_HORIZON`), hands
/// batches of up to `batch_size` records to `relay` in order, one batch per shard in flight;
/// a reported batch item failure makes the next read start at the failed record (the records
/// before it are done), an invocation error retries the batch halved (bisect on error) down to
/// one record.
pub struct StreamPoller {
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub stream_arn: String,
    pub invoke: StreamInvoke,
    pub batch_size: usize,
    start: aws_sdk_dynamodbstreams::types::ShardIteratorType,
    shards: tokio::sync::Mutex<std::collections::BTreeMap<String, ShardCursor>>,
}

impl StreamPoller {
    /// A poller that starts at the stream's end (`LATEST`: only changes made from now on) or,
    /// with `from_start`, at its oldest record (`TRIM_HORIZON`).
    pub fn new(
        streams: aws_sdk_dynamodbstreams::Client,
        stream_arn: String,
        invoke: StreamInvoke,
        from_start: bool,
    ) -> Self {
        use aws_sdk_dynamodbstreams::types::ShardIteratorType;
        Self {
            streams,
            stream_arn,
            invoke,
            batch_size: STREAM_BATCH_SIZE,
            start: if from_start {
                ShardIteratorType::TrimHorizon
            } else {
                ShardIteratorType::Latest
            },
            shards: tokio::sync::Mutex::new(Default::default()),
        }
    }

    /// Takes note of the stream's shards (new ones start where `start` says); with `LATEST`,
    /// call it before the changes to relay are made.
    pub async fn discover(&self) -> Result<(), String> {
        let described = self
            .streams
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
        let mut shards = self.shards.lock().await;
        for shard in described
            .stream_description()
            .map(|d| d.shards())
            .unwrap_or_default()
        {
            let Some(id) = shard.shard_id() else { continue };
            if shards.contains_key(id) {
                continue;
            }
            let iterator = self
                .streams
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(id)
                .shard_iterator_type(self.start.clone())
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?
                .shard_iterator;
            shards.insert(
                id.to_string(),
                ShardCursor {
                    iterator,
                    ..Default::default()
                },
            );
        }
        Ok(())
    }

    /// One pass over every shard: at most one batch each. Returns how many records were handed
    /// to `relay` and done.
    pub async fn poll_once(&self) -> usize {
        if let Err(e) = self.discover().await {
            eprintln!("bridge: describe stream failed: {e}");
            return 0;
        }
        let mut shards = self.shards.lock().await;
        let mut done = 0;
        for (id, cursor) in shards.iter_mut() {
            if !cursor.done {
                done += self.poll_shard(id, cursor).await;
            }
        }
        done
    }

    /// Polls until a pass finds nothing new (a failing relay is retried up to `max_passes`).
    pub async fn drain(&self, max_passes: usize) -> usize {
        let mut total = 0;
        for _ in 0..max_passes {
            let n = self.poll_once().await;
            total += n;
            if n == 0 && !self.retrying().await {
                break;
            }
        }
        total
    }

    /// Whether some shard is retrying a failed batch (bisecting, or from its failed record).
    async fn retrying(&self) -> bool {
        self.shards
            .lock()
            .await
            .values()
            .any(|c| c.bisect.is_some())
    }

    /// Polls forever (abort the task to stop it).
    pub async fn run(self: Arc<Self>) {
        loop {
            if self.poll_once().await == 0 {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }

    async fn iterator_at(
        &self,
        shard: &str,
        kind: aws_sdk_dynamodbstreams::types::ShardIteratorType,
        sequence: Option<&str>,
    ) -> Option<String> {
        let r = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence.map(str::to_string))
            .send()
            .await;
        match r {
            Ok(out) => out.shard_iterator,
            Err(e) => {
                eprintln!(
                    "bridge: shard iterator failed: {}",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
                );
                None
            }
        }
    }

    async fn poll_shard(&self, shard: &str, cursor: &mut ShardCursor) -> usize {
        use aws_sdk_dynamodbstreams::types::ShardIteratorType;
        let iterator = match cursor.iterator.take() {
            Some(i) => Some(i),
            None => match cursor.after.clone() {
                Some(seq) => {
                    self.iterator_at(shard, ShardIteratorType::AfterSequenceNumber, Some(&seq))
                        .await
                }
                None => self.iterator_at(shard, self.start.clone(), None).await,
            },
        };
        let Some(iterator) = iterator else {
            return 0;
        };
        let limit = cursor.bisect.unwrap_or(self.batch_size).max(1);
        let read = self
            .streams
            .get_records()
            .shard_iterator(&iterator)
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await;
        let out = match read {
            Ok(o) => o,
            Err(e) => {
                // An expired or trimmed iterator: the next pass asks for a new one.
                eprintln!(
                    "bridge: get records failed: {}",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
                );
                return 0;
            }
        };
        let records = out.records();
        if records.is_empty() {
            cursor.iterator = out.next_shard_iterator().map(str::to_string);
            cursor.done = cursor.iterator.is_none();
            return 0;
        }
        let sequences: Vec<String> = records
            .iter()
            .map(|r| {
                r.dynamodb()
                    .and_then(|d| d.sequence_number())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let event = json!({ "Records": records.iter().map(|r| stream_record(r, &self.stream_arn)).collect::<Vec<_>>() });
        match (self.invoke)(event).await {
            None => {
                // Bisect on error: the same records again, half as many at a time.
                cursor.bisect = Some((limit / 2).max(1));
                0
            }
            Some(failures) => {
                // Retry from the first failed record: everything before it is done.
                let failed_at = failures
                    .iter()
                    .filter_map(|f| sequences.iter().position(|s| s == f))
                    .min();
                let done = failed_at.unwrap_or(sequences.len());
                if done > 0 {
                    cursor.after = Some(sequences[done - 1].clone());
                }
                cursor.failed = failed_at.is_some();
                if failed_at.is_none() {
                    cursor.iterator = out.next_shard_iterator().map(str::to_string);
                    cursor.bisect = None;
                }
                done
            }
        }
    }
}

/// A stream record as Lambda hands it to a function (the attribute values in DynamoDB JSON).
fn stream_record(r: &aws_sdk_dynamodbstreams::types::Record, arn: &str) -> Value {
    let d = r.dynamodb();
    let image = |m: Option<
        &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
    >| {
        Value::Object(
            m.map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), attribute_json(v)))
                    .collect()
            })
            .unwrap_or_default(),
        )
    };
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()),
        "eventVersion": r.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": r.aws_region().unwrap_or("us-east-1"),
        "eventSourceARN": arn,
        "dynamodb": {
            "ApproximateCreationDateTime": d.and_then(|d| d.approximate_creation_date_time()).map(|t| t.secs()).unwrap_or(0),
            "Keys": image(d.and_then(|d| d.keys.as_ref())),
            "NewImage": image(d.and_then(|d| d.new_image.as_ref())),
            "SequenceNumber": d.and_then(|d| d.sequence_number()),
            "SizeBytes": d.and_then(|d| d.size_bytes()).unwrap_or(0),
            "StreamViewType": d.and_then(|d| d.stream_view_type()).map(|v| v.as_str()),
        }
    })
}

/// One attribute value in DynamoDB JSON (`{"S": "..."}`, `{"N": "1"}`, ...).
fn attribute_json(v: &aws_sdk_dynamodbstreams::types::AttributeValue) -> Value {
    use aws_sdk_dynamodbstreams::types::AttributeValue as A;
    use base64::Engine;
    match v {
        A::S(s) => json!({ "S": s }),
        A::N(n) => json!({ "N": n }),
        A::Bool(b) => json!({ "BOOL": b }),
        A::Null(_) => json!({ "NULL": true }),
        A::Ss(l) => json!({ "SS": l }),
        A::Ns(l) => json!({ "NS": l }),
        A::L(l) => json!({ "L": l.iter().map(attribute_json).collect::<Vec<_>>() }),
        A::M(m) => {
            json!({ "M": m.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect::<serde_json::Map<_, _>>() })
        }
        A::B(b) => json!({ "B": base64::engine::general_purpose::STANDARD.encode(b.as_ref()) }),
        A::Bs(l) => {
            json!({ "BS": l.iter().map(|b| base64::engine::general_purpose::STANDARD.encode(b.as_ref())).collect::<Vec<_>>() })
        }
        _ => Value::Null,
    }
}

/// `relay` in process, as the bridge would invoke the function: the stream event in, the
/// failed sequence numbers back.
pub fn in_process_relay(app: Arc<switchboard::app::App>) -> StreamInvoke {
    Arc::new(move |event: Value| {
        let app = app.clone();
        Box::pin(async move {
            let event: aws_lambda_events::event::dynamodb::Event =
                serde_json::from_value(event).ok()?;
            let r = switchboard::transport::stream::handle(app.relay(), &event).await;
            Some(
                r.batch_item_failures
                    .into_iter()
                    .filter_map(|f| f.item_identifier)
                    .collect(),
            )
        })
    })
}
