//! `local hash-password`: read a password on stdin, print its argon2id hash.
//! `local setup`: create the dev resources on the emulator and print them as `KEY=value` lines.
//! `local bridge <invoke base URL>`: feed the event queue into `dispatch` the way an SQS event
//! source mapping does (batches of up to 10, a visibility timeout, partial batch failures: every
//! message is deleted except the reported failures), with up to `BRIDGE_CONCURRENCY` (default 4)
//! batches in flight like Lambda's concurrent pollers, and invoke `sweeper` every minute.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchboard_tests::{sdk_config, Stack};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("setup") => setup().await,
        Some("hash-password") => hash_password(),
        Some("bridge") => {
            bridge(
                args.get(1)
                    .cloned()
                    .unwrap_or_else(|| "http://127.0.0.1:9000".into()),
            )
            .await
        }
        _ => {
            eprintln!("usage: local setup | local bridge <invoke base URL> | local hash-password");
            std::process::exit(2);
        }
    }
}

/// Reads a password on stdin and prints its argon2id PHC string (for `ADMIN_PASSWORD_HASH`).
fn hash_password() {
    let mut password = String::new();
    if std::io::stdin().read_line(&mut password).is_err()
        || password.trim_end_matches(['\r', '\n']).is_empty()
    {
        eprintln!("type the admin password on standard input");
        std::process::exit(2);
    }
    match switchboard::domain::secret::hash_password(password.trim_end_matches(['\r', '\n'])) {
        Ok(h) => println!("{h}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

async fn setup() {
    let name = std::env::var("TABLE_NAME").unwrap_or_else(|_| "switchboard".into());
    let from = std::env::var("MAIL_FROM").unwrap_or_else(|_| "no-reply@switchboard.local".into());
    match Stack::ensure(&name, &from).await {
        Ok(s) => {
            println!("TABLE_NAME={}", s.table);
            println!("QUEUE_URL={}", s.queue_url);
            println!("DLQ_URL={}", s.dlq_url);
            println!("MAIL_FROM={}", s.mail_from);
        }
        Err(e) => {
            eprintln!("could not create the local resources: {e}");
            std::process::exit(1);
        }
    }
}

async fn bridge(base: String) {
    let queue_url = std::env::var("QUEUE_URL").unwrap_or_default();
    let visibility: i32 = std::env::var("BRIDGE_VISIBILITY_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let http = reqwest::Client::new();
    let dispatch = format!("{base}/2015-03-31/functions/dispatch/invocations");
    let sweeper = format!("{base}/2015-03-31/functions/sweeper/invocations");
    let concurrency: usize = std::env::var("BRIDGE_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut last_sweep = Instant::now();
    eprintln!("bridge: {queue_url} -> dispatch (visibility {visibility}s), sweeper every 60s");
    loop {
        if last_sweep.elapsed() >= Duration::from_secs(60) {
            last_sweep = Instant::now();
            let event = json!({"version": "0", "id": "local", "detail-type": "Scheduled Event", "source": "aws.events",
                "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
            if let Err(e) = http.post(&sweeper).json(&event).send().await {
                eprintln!("bridge: sweeper invoke failed: {e}");
            }
        }
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(visibility)
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
        let (sqs, http, dispatch, queue_url) = (
            sqs.clone(),
            http.clone(),
            dispatch.clone(),
            queue_url.clone(),
        );
        tokio::spawn(async move {
            invoke_batch(&sqs, &http, &dispatch, &queue_url, messages).await;
            drop(permit);
        });
    }
}

/// One batch: invoke `dispatch`, then delete every message but the reported failures.
async fn invoke_batch(
    sqs: &aws_sdk_sqs::Client,
    http: &reqwest::Client,
    dispatch: &str,
    queue_url: &str,
    messages: Vec<aws_sdk_sqs::types::Message>,
) {
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
    let response = http
        .post(dispatch)
        .json(&json!({ "Records": records }))
        .send()
        .await;
    let failures: Vec<String> = match response {
        Ok(r) if r.status().is_success() => {
            let v: Value = r.json().await.unwrap_or(Value::Null);
            if v.get("errorType").is_some() {
                eprintln!("bridge: dispatch failed: {v}");
                return; // the whole batch returns to the queue after the visibility timeout
            }
            v["batchItemFailures"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        }
        Ok(r) => {
            eprintln!("bridge: dispatch answered {}", r.status());
            return;
        }
        Err(e) => {
            eprintln!("bridge: dispatch unreachable: {e}");
            tokio::time::sleep(Duration::from_secs(2)).await;
            return;
        }
    };
    for m in &messages {
        if failures.iter().any(|f| Some(f.as_str()) == m.message_id()) {
            continue;
        }
        if let Some(h) = m.receipt_handle() {
            if let Err(e) = sqs
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
