//! Benchmarks (figures, not assertions), run against the emulator at `AWS_ENDPOINT_URL`:
//! - fan-out: one event to N loopback endpoints (N = 10, 100, 1000): time until all are
//!   delivered, deliveries per second, DynamoDB calls per delivery (by operation) and CPU time
//!   per delivery of this (the dispatch) process;
//! - a backlog: 10,000 events published by 8 clients to one endpoint while the bridge's poller
//!   (4 batches in flight per queue, as `make dev`) dispatches them: end-to-end time,
//!   deliveries per second, dispatch's DynamoDB calls per delivery, CPU per event;
//! - throttle: N events (`BENCH_THROTTLE_EVENTS`, 20) to an unthrottled endpoint alone, then
//!   beside one at `rate_limit: 5`: the unthrottled one's time both ways (their ratio) and the
//!   throttled one's achieved rate;
//! - latency (`bench/latency.rs`): incoming execution p50/p99 per kind of call, and publish →
//!   receipt p50/p99 with the bridge running as `make dev` runs it;
//! - outage recovery (`bench/latency.rs`): SQS down 20 s under traffic, then the time from its
//!   return to the last delivery (asserted under 2 minutes);
//! - incoming executions: AWS calls per call (new member, existing member);
//! - argon2id: the cost of one password hash.
//!
//! The receiver runs in a child process (this binary with `--receiver`), so the CPU figures are
//! the dispatch side's alone (moto is a separate process too).
//!
//! `make bench` (or `PROFILE=release make bench`; `BENCH_EVENTS` changes the backlog size,
//! `BENCH_ONLY=backlog` runs only the backlog, `BENCH_ONLY=fanout` only the fan-out,
//! `BENCH_ONLY=throttle` only the throttle, `BENCH_ONLY=latency` only the latencies,
//! `BENCH_ONLY=outage` only the outage recovery).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_tests::bridge::{in_process, Invoke, Poller, DEFAULT_CONCURRENCY};
use switchboard_tests::{sdk_config, TestEnv};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

#[path = "bench/latency.rs"]
mod latency;

/// The allocator of the `dispatch` binary, so that its CPU figures are this one's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A minimal HTTP/1.1 receiver that answers 200, counts requests and stamps each one's arrival
/// (wall clock, µs); `GET /__count` answers the count, `GET /__stamps` the stamps. Runs in the
/// child process.
async fn serve_receiver() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    println!("http://{addr}");
    let seen = Arc::new(Seen::default());
    while let Ok((mut sock, _)) = listener.accept().await {
        let seen = seen.clone();
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
                let body: Vec<u8> = buf.drain(..end + 4 + len).skip(end + 4).collect();
                let reply = seen.answer(&head, &body);
                if sock.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// What the receiver saw: how many requests, and when each arrived.
#[derive(Default)]
struct Seen {
    count: AtomicUsize,
    /// (the body's `bench_seq`, or -1; arrival in µs since the epoch).
    stamps: std::sync::Mutex<Vec<(i64, u128)>>,
}

impl Seen {
    fn answer(&self, head: &str, body: &[u8]) -> String {
        let ok = |text: String| {
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{text}",
                text.len()
            )
        };
        if head.starts_with("get /__count") {
            return ok(self.count.load(Ordering::SeqCst).to_string());
        }
        if head.starts_with("get /__stamps") {
            let stamps = self.stamps.lock().map(|s| s.clone()).unwrap_or_default();
            let text: Vec<String> = stamps.iter().map(|(n, t)| format!("{n} {t}")).collect();
            return ok(text.join("\n"));
        }
        let at = latency::now_us();
        let seq = latency::seq_of(&String::from_utf8_lossy(body)).unwrap_or(-1);
        if let Ok(mut s) = self.stamps.lock() {
            s.push((seq, at));
        }
        self.count.fetch_add(1, Ordering::SeqCst);
        ok("ok".into())
    }
}

/// The receiver child process.
struct Receiver {
    url: String,
    http: reqwest::Client,
    _child: tokio::process::Child,
}

impl Receiver {
    async fn spawn() -> Self {
        let mut child = tokio::process::Command::new(std::env::current_exe().expect("exe"))
            .arg("--receiver")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("receiver process");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::io::BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .expect("receiver address");
        Self {
            url: line.trim().to_string(),
            http: reqwest::Client::new(),
            _child: child,
        }
    }

    async fn count(&self) -> usize {
        Self::count_with(&self.http, &self.url).await
    }

    /// The count of the receiver at `url` (from another task).
    async fn count_at(url: &str) -> usize {
        Self::count_with(&reqwest::Client::new(), url).await
    }

    async fn count_with(http: &reqwest::Client, url: &str) -> usize {
        let r = http.get(format!("{url}/__count")).send().await;
        match r {
            Ok(r) => r
                .text()
                .await
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// What the receiver stamped: (`bench_seq` or -1, arrival in µs since the epoch).
    async fn stamps(&self) -> Vec<(i64, u128)> {
        let r = self.http.get(format!("{}/__stamps", self.url)).send().await;
        let text = match r {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        text.lines()
            .filter_map(|l| {
                let (n, t) = l.split_once(' ')?;
                Some((n.parse().ok()?, t.parse().ok()?))
            })
            .collect()
    }

    async fn wait_for(&self, n: usize, limit: Duration) -> usize {
        let started = Instant::now();
        loop {
            let got = self.count().await;
            if got >= n || started.elapsed() > limit {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Creates an outgoing webhook from its JSON; says why and returns `false` when it cannot.
async fn endpoint(env: &TestEnv, body: serde_json::Value) -> bool {
    let body = body.as_object().cloned().unwrap_or_default();
    match env.app.outgoing().create(&body).await {
        Ok(_) => true,
        Err(e) => {
            eprintln!("endpoint create failed: {e}");
            false
        }
    }
}

/// Publishes one event to the `n` endpoints and measures its fan-out (the `round`th event they
/// receive): one row of the fan-out table.
async fn fan_out(
    env: &TestEnv,
    rx: &Receiver,
    n: usize,
    handled: &mut Vec<String>,
    round: usize,
    profile: bool,
) {
    let label = if round == 1 { "first" } else { "next" };
    let r = env
        .publish(json!({"event": "feed.created", "data": {"id": round}}))
        .await;
    assert_eq!(r.status, 202);
    // The endpoints' own changes come first on the stream (1,000 of them: more than one drain).
    while env.relay_stream().await > 0 {}
    // The queue still holds the earlier rounds' messages (reading it hides nothing).
    let queued: Vec<String> = env.queued().await.iter().map(|v| v.to_string()).collect();
    let Some(batch) = queued.into_iter().find(|b| !handled.contains(b)) else {
        eprintln!("no new batch on the queue");
        return;
    };
    handled.push(batch.clone());
    let before_ops = env.calls.operations();
    moto_profile(profile, "start").await;
    perf_window(profile, "enable");
    let cpu0 = cpu();
    let started = Instant::now();
    if let Err(e) = env.app.deliveries().handle_message(&batch).await {
        eprintln!("fan-out failed: {e}");
    }
    let delivered = rx
        .wait_for(n * round, Duration::from_secs(60))
        .await
        .saturating_sub(n * (round - 1));
    let elapsed = started.elapsed();
    moto_profile(profile, "stop").await;
    let cpu_used = cpu() - cpu0;
    perf_window(profile, "disable");
    let (per, ops) = ops_per(env, &before_ops, n);
    println!(
        "| {n} | {label} | {:.0} ms ({delivered} delivered) | {:.0} | {per:.3} | {:.3} ms | {ops} |",
        elapsed.as_secs_f64() * 1000.0,
        delivered as f64 / elapsed.as_secs_f64().max(1e-9),
        cpu_used.as_secs_f64() * 1000.0 / delivered.max(1) as f64,
    );
}

/// With `MOTO_PROFILE` set, `scripts/moto_server.py` profiles DynamoDB requests between
/// `/__profile/start` and `/__profile/stop` (the 1 -> 1,000 fan-out).
/// With `PERF_CTL_FIFO` set (`perf record --control=fifo:PATH -D -1 ...`), profiles only the
/// timed window of the 1,000-endpoint fan-out: `enable` at its start, `disable` at its end.
fn perf_window(when: bool, what: &str) {
    if let (true, Ok(path)) = (when, std::env::var("PERF_CTL_FIFO")) {
        if let Err(e) = std::fs::write(&path, format!("{what}\n")) {
            eprintln!("perf control {path}: {e}");
        }
    }
}

async fn moto_profile(when: bool, what: &str) {
    let (true, Ok(_), Ok(url)) = (
        when,
        std::env::var("MOTO_PROFILE"),
        std::env::var("AWS_ENDPOINT_URL"),
    ) else {
        return;
    };
    let _ = reqwest::get(format!("{url}/__profile/{what}")).await;
}

/// User + system CPU time of this process so far.
fn cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// DynamoDB calls since `before`, per delivery, by operation.
fn ops_per(
    env: &TestEnv,
    before: &std::collections::BTreeMap<String, usize>,
    n: usize,
) -> (f64, String) {
    let ops: Vec<(String, usize)> = env
        .calls
        .operations()
        .into_iter()
        .filter(|(k, _)| k.starts_with("dynamodb:"))
        .map(|(k, v)| {
            let prev = before.get(&k).copied().unwrap_or(0);
            (k, v - prev)
        })
        .filter(|(_, v)| *v > 0)
        .collect();
    let total: usize = ops.iter().map(|(_, v)| v).sum();
    let text = ops
        .iter()
        .map(|(k, v)| {
            format!(
                "{} {:.3}",
                k.trim_start_matches("dynamodb:"),
                *v as f64 / n as f64
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    (total as f64 / n.max(1) as f64, text)
}

/// A stack configured as deployed (fast lane 3 s, 30 s attempts).
async fn deployed_env() -> TestEnv {
    TestEnv::with(|c| {
        c.fast_lane_ms = 3000;
        c.delivery_timeout_seconds = 30;
    })
    .await
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--receiver") {
        serve_receiver().await;
        return;
    }
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "# Switchboard benchmarks ({profile} build, emulator {})",
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_default()
    );
    match std::env::var("BENCH_ONLY").as_deref() {
        Ok("throttle") => throttle().await,
        Ok("backlog") => backlog().await,
        Ok("fanout") => fan_out_table().await,
        Ok("latency") => {
            latency::incoming().await;
            latency::delivery().await;
        }
        Ok("outage") => latency::outage().await,
        _ => {
            fan_out_table().await;
            backlog().await;
            throttle().await;
            latency::incoming().await;
            latency::delivery().await;
            latency::outage().await;
            let env = incoming_calls().await;
            item_sizes(&env).await;
            argon2();
        }
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The fan-out table: one event to 10, 100 and 1,000 endpoints.
async fn fan_out_table() {
    println!("\n## Fan-out: one event to N loopback endpoints");
    println!(
        "| N | event | time to all delivered | deliveries/s | DynamoDB calls per delivery | CPU per delivery | by operation |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in [10usize, 100, 1000] {
        let env = deployed_env().await;
        let rx = Receiver::spawn().await;
        for i in 0..n {
            let body = json!({"name": format!("ep{i}"), "url": format!("{}/ep/{i}", rx.url), "events": ["feed.created"]});
            if !endpoint(&env, body).await {
                return;
            }
        }
        // The first event writes every endpoint's `last_triggered_at`; the next one, within
        // its minute, writes only the deliveries (what a busy endpoint sees).
        let mut handled = Vec::new();
        fan_out(&env, &rx, n, &mut handled, 1, n == 1000).await;
        fan_out(&env, &rx, n, &mut handled, 2, false).await;
    }
}

/// AWS calls per incoming call (new member, existing member); the env, for the item sizes.
async fn incoming_calls() -> TestEnv {
    println!("\n## Incoming execution: AWS calls per call");
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space], "send_welcome_email": true}))
        .await;
    let rx = Receiver::spawn().await;
    let ep = json!({"name": "rx", "url": rx.url, "events": ["*"], "headers": {"X-Api-Key": "k"}});
    endpoint(&env, ep).await;
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

    env
}

/// Item sizes per kind (after the deliveries of `env`'s calls).
async fn item_sizes(env: &TestEnv) {
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
}

/// The cost of one argon2id hash.
fn argon2() {
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
}

/// Publishes `n` events and pumps the queues (delayed messages too) until `rx` has `want`
/// requests: the time that took.
async fn publish_and_wait(env: &TestEnv, rx: &Receiver, n: usize, want: usize) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        env.publish(json!({"event": "feed.created", "data": {"n": i}}))
            .await;
    }
    while rx.count().await < want && started.elapsed() < Duration::from_secs(120) {
        env.pump().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// The throttle: an unthrottled endpoint's time alone and beside a throttled one.
async fn throttle() {
    let n: usize = std::env::var("BENCH_THROTTLE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let rate = 5;
    println!("\n## Throttle: {n} events, an unthrottled endpoint beside one at {rate}/s");
    let env = TestEnv::new().await;
    let (free, slow) = (Receiver::spawn().await, Receiver::spawn().await);
    if !endpoint(
        &env,
        json!({"name": "free", "url": free.url, "events": ["feed.created"]}),
    )
    .await
    {
        return;
    }
    let alone = publish_and_wait(&env, &free, n, n).await;
    let body = json!({"name": "throttled", "url": slow.url, "events": ["feed.created"], "rate_limit": rate});
    if !endpoint(&env, body).await {
        return;
    }
    // The unthrottled endpoint's time is read while the throttled one still waits.
    let started = Instant::now();
    let beside = async {
        free.wait_for(2 * n, Duration::from_secs(120)).await;
        started.elapsed()
    };
    let (beside, throttled) = tokio::join!(beside, publish_and_wait(&env, &slow, n, n));
    println!(
        "- unthrottled alone {:.0} ms, beside the throttled one {:.0} ms (ratio {:.2}); throttled: {} in {:.1} s ({:.1}/s, limit {rate}/s)",
        alone.as_secs_f64() * 1000.0,
        beside.as_secs_f64() * 1000.0,
        beside.as_secs_f64() / alone.as_secs_f64().max(1e-9),
        slow.count().await,
        throttled.as_secs_f64(),
        slow.count().await as f64 / throttled.as_secs_f64().max(1e-9),
    );
}

/// 10,000 events (`BENCH_EVENTS`) published by 8 clients to one endpoint, then dispatched
/// through the bridge's poller: publish time, then the dispatch figures.
async fn backlog() {
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    println!(
        "\n## Backlog: {n} events to one endpoint, published while the bridge's poller dispatches"
    );
    // Publishers and dispatch are two apps over one stack, so each counts its own AWS calls;
    // dispatch's invocations run on their own runtime, whose threads' CPU time is theirs alone.
    let env = Arc::new(deployed_env().await);
    let publisher = Arc::new(TestEnv::on(env.stack.clone(), env.app.config().clone()).await);
    let rx = Receiver::spawn().await;
    let ep = json!({"name": "one", "url": rx.url, "events": ["feed.created"]});
    if !endpoint(&publisher, ep).await {
        return;
    }
    let (dispatch, pollers) = backlog_bridge(&env, &publisher).await;
    let before_ops = env.calls.operations();
    let cpu0 = cpu();
    let started = Instant::now();
    let published = Arc::new(AtomicUsize::new(0));
    let publishers: Vec<_> = (0..8)
        .map(|p| {
            let (publisher, published) = (publisher.clone(), published.clone());
            tokio::spawn(async move {
                for i in (p..n).step_by(8) {
                    publisher
                        .publish(json!({"event": "feed.created", "data": {"n": i}}))
                        .await;
                    published.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Progress every 30 s (a long run on a busy machine still leaves figures behind).
    let progress = {
        let (published, url) = (published.clone(), rx.url.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(30)).await;
                let delivered = Receiver::count_at(&url).await;
                println!(
                    "  - {:.0} s: {} published, {delivered} delivered",
                    started.elapsed().as_secs_f64(),
                    published.load(Ordering::Relaxed)
                );
            }
        })
    };
    for p in publishers {
        let _ = p.await;
    }
    let published = started.elapsed();
    let delivered = rx.wait_for(n, Duration::from_secs(3600)).await;
    let elapsed = started.elapsed();
    let cpu_used = cpu() - cpu0;
    let dispatch_cpu = dispatch.cpu();
    progress.abort();
    for p in pollers {
        p.abort();
    }
    dispatch.rt.shutdown_background();
    let (per, ops) = ops_per(&env, &before_ops, delivered);
    println!(
        "- published in {:.1} s ({:.0} events/s, 8 clients through the admin API, in process)",
        published.as_secs_f64(),
        n as f64 / published.as_secs_f64().max(1e-9)
    );
    println!(
        "- end to end: {delivered} delivered {:.1} s after the first publish ({:.0} deliveries/s); dispatch's DynamoDB calls per delivery {per:.3} ({ops}); CPU per delivery of dispatch {:.3} ms (its invocations' runtime threads); {:.3} ms per event for publishing and dispatch together (the whole process)",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64().max(1e-9),
        dispatch_cpu.as_secs_f64() * 1000.0 / delivered.max(1) as f64,
        cpu_used.as_secs_f64() * 1000.0 / delivered.max(1) as f64,
    );
}

/// The backlog's bridge: the publishers' stream → their `relay`, and both queues polled (on
/// AWS the event source mappings do) with each `dispatch` invocation on the dispatch runtime.
async fn backlog_bridge(
    env: &TestEnv,
    publisher: &Arc<TestEnv>,
) -> (DispatchRuntime, [tokio::task::JoinHandle<()>; 3]) {
    let dispatch = DispatchRuntime::new();
    let function = in_process(env.app.clone());
    let on_dispatch = dispatch.rt.handle().clone();
    let invoke: Invoke = Arc::new(move |event| {
        let (run, rt) = (function(event), on_dispatch.clone());
        Box::pin(async move { rt.spawn(run).await.ok().flatten() })
    });
    let poller = Poller {
        sqs: aws_sdk_sqs::Client::new(&sdk_config().await),
        invoke,
        visibility: 120,
        concurrency: DEFAULT_CONCURRENCY,
    };
    // The table's stream reaches SQS through the publishers' `relay` (its calls are theirs).
    let pollers = [
        tokio::spawn(publisher.stream.clone().run()),
        tokio::spawn(poller.clone().run(env.stack.queue_url.clone())),
        tokio::spawn(poller.run(env.stack.slow_queue_url.clone())),
    ];
    (dispatch, pollers)
}

/// A runtime of its own for `dispatch` in the backlog stage, remembering its threads so that
/// their CPU time can be read apart from the publishers' (`/proc/self/task/{tid}/stat`).
struct DispatchRuntime {
    rt: tokio::runtime::Runtime,
    threads: Arc<std::sync::Mutex<Vec<libc::pid_t>>>,
}

impl DispatchRuntime {
    fn new() -> Self {
        let threads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = threads.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || {
                // SAFETY: gettid has no preconditions.
                let tid = unsafe { libc::gettid() };
                if let Ok(mut t) = seen.lock() {
                    t.push(tid);
                }
            })
            .build()
            .expect("dispatch runtime");
        Self { rt, threads }
    }

    /// User + system time of every thread the runtime started (exited ones count as zero).
    fn cpu(&self) -> Duration {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let tids = self.threads.lock().map(|t| t.clone()).unwrap_or_default();
        let total: u64 = tids
            .iter()
            .filter_map(|tid| std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok())
            .filter_map(|stat| {
                // Fields after the command's closing parenthesis; utime and stime are 14 and 15.
                let rest = stat.rsplit_once(')')?.1;
                let f: Vec<&str> = rest.split_whitespace().collect();
                Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
            })
            .sum();
        Duration::from_secs_f64(total as f64 / ticks)
    }
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
