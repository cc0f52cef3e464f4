//! `local hash-password`: read a password on stdin, print its argon2id hash.
//! `local setup`: create the dev resources on the emulator and print them as `KEY=value` lines.
//! `local bridge <invoke base URL>`: feed the table's stream into `relay` the way the stream
//! event source mapping does (every shard from `TRIM_HORIZON`, batches of up to 100 in order,
//! retry from the first reported failure, bisect on an invocation error), feed the event queue
//! and the slow lane into `dispatch` the way the two SQS event source mappings do (batches of
//! up to 10, a visibility timeout, partial batch failures: every message is deleted except the
//! reported failures), each lane with its own `BRIDGE_CONCURRENCY` (default 4) batches in
//! flight like each mapping's `MaximumConcurrency`, and invoke `sweeper` every minute.

use std::time::Duration;

use serde_json::json;
use std::sync::Arc;

use switchboard_tests::bridge::{http_invoke, Poller, StreamPoller};
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
            println!("SLOW_QUEUE_URL={}", s.slow_queue_url);
            println!("MAIL_FROM={}", s.mail_from);
            println!("SECRETS_KEY_ID={}", s.secrets_key_id);
            println!("STREAM_ARN={}", s.stream_arn);
        }
        Err(e) => {
            eprintln!("could not create the local resources: {e}");
            std::process::exit(1);
        }
    }
}

async fn bridge(base: String) {
    let queue_url = std::env::var("QUEUE_URL").unwrap_or_default();
    let slow_url = std::env::var("SLOW_QUEUE_URL").unwrap_or_default();
    let visibility: i32 = std::env::var("BRIDGE_VISIBILITY_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let concurrency: usize = std::env::var("BRIDGE_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(switchboard_tests::bridge::DEFAULT_CONCURRENCY);
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let http = reqwest::Client::new();
    let stream_arn = std::env::var("STREAM_ARN").unwrap_or_default();
    if stream_arn.is_empty() {
        eprintln!("bridge: STREAM_ARN is not set: no event reaches the queue");
    } else {
        let relay = format!("{base}/2015-03-31/functions/relay/invocations");
        eprintln!("bridge: {stream_arn} -> relay");
        let stream = StreamPoller::new(
            aws_sdk_dynamodbstreams::Client::new(&sdk),
            stream_arn,
            http_invoke(http.clone(), relay),
            true,
        );
        tokio::spawn(Arc::new(stream).run());
    }
    let dispatch = format!("{base}/2015-03-31/functions/dispatch/invocations");
    let sweeper = format!("{base}/2015-03-31/functions/sweeper/invocations");
    eprintln!("bridge: {queue_url} and {slow_url} -> dispatch (visibility {visibility}s), sweeper every 60s");
    let poller = Poller {
        sqs,
        invoke: http_invoke(http.clone(), dispatch),
        visibility,
        concurrency,
    };
    if !slow_url.is_empty() && slow_url != queue_url {
        // Its own poller with its own slots: the slow lane never takes the fast lane's.
        let slow = poller.clone();
        tokio::spawn(async move { slow.run(slow_url).await });
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            let event = json!({"version": "0", "id": "local", "detail-type": "Scheduled Event", "source": "aws.events",
                "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
            if let Err(e) = http.post(&sweeper).json(&event).send().await {
                eprintln!("bridge: sweeper invoke failed: {e}");
            }
        }
    });
    poller.run(queue_url).await;
}
