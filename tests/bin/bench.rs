//! Benchmarks (figures, not assertions), run against the emulator at `AWS_ENDPOINT_URL`:
//! - fan-out: one event to N loopback endpoints (N = 10, 100, 1000): time until all are
//!   delivered, deliveries per second, and DynamoDB calls per delivery, by operation;
//! - incoming executions: AWS calls per call (new member, existing member);
//! - argon2id: the cost of one password hash.
//!
//! `make bench` (or `cargo run -p switchboard-tests --bin bench [--release]`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_tests::TestEnv;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A minimal HTTP/1.1 receiver that answers 200 and counts requests.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let c = c.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    buf.drain(..end + 4 + len);
                    c.fetch_add(1, Ordering::SeqCst);
                    if sock
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), count)
}

#[tokio::main]
async fn main() {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "# Switchboard benchmarks ({profile} build, emulator {})",
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_default()
    );

    println!("\n## Fan-out: one event to N loopback endpoints");
    println!(
        "| N | time to all delivered | deliveries/s | DynamoDB calls per delivery | by operation |"
    );
    println!("|---|---|---|---|---|");
    for n in [10usize, 100, 1000] {
        let env = TestEnv::new().await;
        let (url, count) = receiver().await;
        for i in 0..n {
            let body = json!({"name": format!("ep{i}"), "url": format!("{url}/ep/{i}"), "events": ["feed.created"]});
            let body = body.as_object().cloned().unwrap_or_default();
            if let Err(e) = env.app.endpoint_create(&body).await {
                eprintln!("endpoint create failed: {e}");
                return;
            }
        }
        let r = env
            .publish(json!({"event": "feed.created", "data": {"id": 1}}))
            .await;
        assert_eq!(r.status, 202);
        let batch = env.queued().await.remove(0).to_string();
        let before_ops = env.calls.operations();
        let (d0, _, _) = env.calls.snapshot();
        let started = Instant::now();
        if let Err(e) = env.app.handle_message(&batch).await {
            eprintln!("fan-out failed: {e}");
        }
        let elapsed = started.elapsed();
        let delivered = count.load(Ordering::SeqCst);
        let (d1, _, _) = env.calls.snapshot();
        let ops: Vec<String> = env
            .calls
            .operations()
            .into_iter()
            .filter(|(k, _)| k.starts_with("dynamodb:"))
            .map(|(k, v)| {
                let prev = before_ops.get(&k).copied().unwrap_or(0);
                (k, v - prev)
            })
            .filter(|(_, v)| *v > 0)
            .map(|(k, v)| {
                format!(
                    "{} {:.2}",
                    k.trim_start_matches("dynamodb:"),
                    v as f64 / n as f64
                )
            })
            .collect();
        println!(
            "| {n} | {:.0} ms ({delivered} delivered) | {:.0} | {:.2} | {} |",
            elapsed.as_secs_f64() * 1000.0,
            delivered as f64 / elapsed.as_secs_f64().max(1e-9),
            (d1 - d0) as f64 / n as f64,
            ops.join(", ")
        );
    }

    println!("\n## Incoming execution: AWS calls per call");
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space], "send_welcome_email": true}))
        .await;
    let (rx, _) = receiver().await;
    let ep = json!({"name": "rx", "url": rx, "events": ["*"], "headers": {"X-Api-Key": "k"}});
    if let Err(e) = env
        .app
        .endpoint_create(ep.as_object().unwrap_or(&Default::default()))
        .await
    {
        eprintln!("endpoint create failed: {e}");
    }
    for (label, email) in [
        (
            "new member joining a space (+ welcome email)",
            "b1@example.com",
        ),
        ("existing member, nothing to change", "b1@example.com"),
    ] {
        let before = env.calls.operations();
        let started = Instant::now();
        let r = env.post_form(&key, &[("email", email)]).await;
        let took = started.elapsed();
        let ops: Vec<String> = env
            .calls
            .operations()
            .into_iter()
            .map(|(k, v)| (k.clone(), v - before.get(&k).copied().unwrap_or(0)))
            .filter(|(_, v)| *v > 0)
            .map(|(k, v)| format!("{k} ×{v}"))
            .collect();
        println!(
            "- {label}: HTTP {} in {:.0} ms; calls: {}",
            r.status,
            took.as_secs_f64() * 1000.0,
            ops.join(", ")
        );
    }

    env.pump().await; // deliveries of those calls' events, for their item sizes
    println!("\n## Item sizes (DynamoDB size rules: names + values), for the cost estimate");
    let mut sizes: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for item in env.all_items().await {
        let pk = item
            .get("pk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let kind = pk.split('#').next().unwrap_or_default().to_string();
        let sk = item
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let kind = if kind == "WEBHOOK" && pk.ends_with("DELIVERIES") {
            "WEBHOOK/DELIVERY".to_string()
        } else {
            kind
        };
        let kind = if kind == "MEMBER" {
            format!("MEMBER/{}", sk.split('#').next().unwrap_or_default())
        } else {
            kind
        };
        let e = sizes.entry(kind).or_default();
        e.0 += 1;
        e.1 = e.1.max(item_size(&item));
    }
    for (kind, (count, max)) in sizes {
        println!("- {kind}: {count} item(s), largest {max} bytes");
    }

    println!("\n## argon2id (m=19 MiB, t=2, p=1), one hash on this machine");
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let _ = switchboard::domain::secret::hash_password("SecurePassword123");
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "- median {:.0} ms over 5 hashes",
        times[2].as_secs_f64() * 1000.0
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}

fn item_size(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &aws_sdk_dynamodb::types::AttributeValue) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::S(s) => s.len(),
        A::N(n) => n.len().div_ceil(2) + 1,
        A::Bool(_) | A::Null(_) => 1,
        A::L(l) => 3 + l.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        A::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() + value_size(x))
                .sum::<usize>()
        }
        A::Ss(x) => x.iter().map(String::len).sum(),
        _ => 8,
    }
}
