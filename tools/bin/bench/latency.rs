//! The latency and outage-recovery stages of `make bench` (`BENCH_ONLY=latency`,
//! `BENCH_ONLY=outage`), in process over the emulator, with the bridge running as `make dev`
//! runs it (the table's stream → `relay`, both queues → `dispatch`, the sweeper every minute):
//! - incoming execution latency: `BENCH_LATENCY_CALLS` (200) calls for new members joining a
//!   space and as many for existing members with nothing to change: p50/p99 per kind;
//! - delivery latency: `BENCH_LATENCY_EVENTS` (200) events published one at a time,
//!   `BENCH_LATENCY_GAP_MS` (50) apart, to one endpoint whose receiver stamps each arrival:
//!   publish → receipt p50/p99;
//! - outage recovery: SQS down `BENCH_OUTAGE_SECONDS` (20) for every AWS client of the app and
//!   the bridge's queue poller, while events are published and incoming calls run; then up:
//!   the time from SQS returning to the last event delivered (must be under 2 minutes).

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use switchboard_tests::bridge::{in_process, Poller, DEFAULT_CONCURRENCY};
use switchboard_tests::TestEnv;

use super::{deployed_env, endpoint, Receiver};

/// How an event travels from the publish call to `dispatch` in this build.
const PATH: &str = "table stream → relay → SQS → dispatch";

/// The outage recovery limit (issue 20): delivered within 2 minutes of SQS returning.
const RECOVERY_LIMIT_SECONDS: f64 = 120.0;

/// Wall-clock time in µs since the epoch (the receiver is another process).
pub fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

/// The `bench_seq` number of a delivery's body, if it has one.
pub fn seq_of(body: &str) -> Option<i64> {
    let key = "\"bench_seq\"";
    let rest = &body[body.find(key)? + key.len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The nearest-rank `p`th percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `p50 | p99 | max` of values in ms, as table cells.
fn cells(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    format!(
        "{:.1} ms | {:.1} ms | {:.1} ms",
        percentile(&values, 50.0),
        percentile(&values, 99.0),
        values.last().copied().unwrap_or(f64::NAN)
    )
}

/// The bridge as `make dev` runs it, in process: the table's stream → `relay`, both queues →
/// `dispatch` (visibility 120 s, 4 batches in flight per queue). Its queue poller's SQS calls
/// fail with the app's (`sqs_down`). Stops when dropped.
struct Bridge {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Bridge {
    async fn start(env: &Arc<TestEnv>) -> Self {
        let poller = Poller {
            sqs: env.counted_sqs().await,
            invoke: in_process(env.app.clone()),
            visibility: 120,
            concurrency: DEFAULT_CONCURRENCY,
        };
        let tasks = vec![
            tokio::spawn(env.stream.clone().run()),
            tokio::spawn(poller.clone().run(env.stack.queue_url.clone())),
            tokio::spawn(poller.run(env.stack.slow_queue_url.clone())),
        ];
        Self { tasks }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The `sweeper` function every 60 s, the first after 60 s, as `make dev` runs it (in this
/// task: its future is not `Send`).
async fn sweeper(env: &TestEnv) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let _ = env.app.scheduled_sweeps().await;
    }
}

/// Incoming execution latency per kind of call.
pub async fn incoming() {
    let n = setting("BENCH_LATENCY_CALLS", 200);
    println!("\n## Incoming execution latency: {n} calls per kind, in process over the emulator");
    let env = deployed_env().await;
    let space = env.make("spaces", "S").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space]}))
        .await;
    env.post_form(&key, &[("email", "warm@example.com")]).await;
    let (mut new, mut existing) = (Vec::new(), Vec::new());
    for i in 0..n {
        let email = format!("lat-{i}@example.com");
        for times in [&mut new, &mut existing] {
            let started = Instant::now();
            let r = env.post_form(&key, &[("email", &email)]).await;
            times.push(ms(started.elapsed()));
            if r.status != 200 {
                eprintln!("incoming call answered {}: {}", r.status, r.text);
            }
        }
    }
    println!("| call | p50 | p99 | max |");
    println!("|---|---|---|---|");
    println!("| new member joining a space | {} |", cells(new));
    println!(
        "| existing member, nothing to change | {} |",
        cells(existing)
    );
}

/// Delivery latency, publish → receipt, with the bridge running.
pub async fn delivery() {
    let n = setting("BENCH_LATENCY_EVENTS", 200);
    let gap = setting("BENCH_LATENCY_GAP_MS", 50);
    println!("\n## Delivery latency: {n} events published one at a time, {gap} ms apart ({PATH})");
    let env = Arc::new(deployed_env().await);
    let rx = Receiver::spawn().await;
    let ep = json!({"name": "lat", "url": rx.url, "events": ["feed.created"]});
    if !endpoint(&env, ep).await {
        return;
    }
    let _bridge = Bridge::start(&env).await;
    let (mut sent, mut publish) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let (at, started) = (now_us(), Instant::now());
        env.publish(json!({"event": "feed.created", "data": {"bench_seq": i}}))
            .await;
        publish.push(ms(started.elapsed()));
        sent.push(at);
        tokio::time::sleep(Duration::from_millis(gap as u64)).await;
    }
    let got = rx.wait_for(n, Duration::from_secs(120)).await;
    let mut first = std::collections::BTreeMap::new();
    for (seq, at) in rx.stamps().await {
        first.entry(seq).or_insert(at);
    }
    let latencies: Vec<f64> = first
        .iter()
        .filter_map(|(seq, at)| {
            let t0 = sent.get(usize::try_from(*seq).ok()?)?;
            Some(at.saturating_sub(*t0) as f64 / 1000.0)
        })
        .collect();
    println!("| measure | p50 | p99 | max |");
    println!("|---|---|---|---|");
    println!("| publish call (`202`) | {} |", cells(publish));
    println!(
        "| publish → receipt ({} of {n} received, {got} requests) | {} |",
        latencies.len(),
        cells(latencies)
    );
}

/// Waits until `rx`'s count stays the same for 3 s; returns it.
async fn settled(rx: &Receiver) -> usize {
    let mut last = rx.count().await;
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = rx.count().await;
        if now == last {
            return now;
        }
        last = now;
    }
}

/// Publishes an event and runs a new member's execution every 2 s for `secs`: how many of each.
async fn traffic(env: &TestEnv, key: &str, secs: u64) -> (usize, usize) {
    let started = Instant::now();
    let (mut published, mut executed) = (0, 0);
    while started.elapsed() < Duration::from_secs(secs) {
        env.publish(json!({"event": "feed.created", "data": {"bench_seq": published}}))
            .await;
        published += 1;
        let email = format!("outage-{executed}@example.com");
        let r = env.post_form(key, &[("email", &email)]).await;
        if r.status != 200 {
            eprintln!("incoming call during the outage answered {}", r.status);
        }
        executed += 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    (published, executed)
}

/// Outage recovery: SQS down, traffic, SQS back; the time until the last event is delivered.
pub async fn outage() {
    let secs = setting("BENCH_OUTAGE_SECONDS", 20) as u64;
    println!("\n## Outage recovery: SQS down {secs} s while events are published and incoming calls run ({PATH})");
    let env = Arc::new(deployed_env().await);
    let rx = Receiver::spawn().await;
    if !endpoint(&env, json!({"name": "all", "url": rx.url, "events": ["*"]})).await {
        return;
    }
    let space = env.make("spaces", "S").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space]}))
        .await;
    let _bridge = Bridge::start(&env).await;
    tokio::select! {
        () = recover(&env, &rx, &key, secs) => {}
        () = sweeper(&env) => {}
    }
}

/// One execution with SQS up (how many deliveries an execution makes), then the outage, then
/// the wait for every delivery.
async fn recover(env: &TestEnv, rx: &Receiver, key: &str, secs: u64) {
    let before = settled(rx).await; // the setup's own events
    env.post_form(key, &[("email", "probe@example.com")]).await;
    let probed = settled(rx).await;
    let per_execution = probed - before;
    env.calls.sqs_down.store(true, SeqCst);
    let (published, executed) = traffic(env, key, secs).await;
    let during = rx.count().await - probed;
    env.calls.sqs_down.store(false, SeqCst);
    let back = now_us();
    let want = probed + per_execution * executed + published;
    let got = rx.wait_for(want, Duration::from_secs(900)).await;
    let last = rx.stamps().await.iter().map(|s| s.1).max().unwrap_or(0);
    let recovered = last.saturating_sub(back) as f64 / 1e6;
    println!(
        "- {published} events published and {executed} incoming executions ({per_execution} deliveries each) while SQS was down; {during} delivered during the outage; {got} of {want} delivered, the last {recovered:.2} s after SQS returned (limit {RECOVERY_LIMIT_SECONDS:.0} s)"
    );
    assert!(
        got >= want && recovered < RECOVERY_LIMIT_SECONDS,
        "not all delivered within 2 minutes of SQS returning"
    );
}
