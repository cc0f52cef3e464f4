//! The chaos run (issue 20, item 7): the fault matrix's randomized, mixed-workload sibling.
//!
//! Rounds of a random workload — incoming calls (new and existing members joining, moving and
//! leaving spaces, some with the welcome email), publishes to endpoints with different
//! subscriptions, endpoint edits — while every AWS call of the app may fail at random (before it
//! is sent, or after AWS applied it: the response lost) and any invocation (an incoming call, an
//! admin call, a `relay` or `dispatch` batch, a sweep) may be aborted mid-flight: its future is
//! dropped after a random few milliseconds, as a function killed by its timeout. The integrator
//! retries an incoming call until it answers `200`, the platform a publish (same
//! `Idempotency-Key`) until `202`; SQS and the stream hand unacknowledged work again. Then the
//! faults stop, the queues, the stream and the sweeps are drained until quiescent, and a checker
//! compares with a pure model of the workload: every event reached every endpoint subscribed to
//! it at least once (and none it is not subscribed to), no delivery is `pending` or `failed`,
//! every member's spaces are what a fault-free replay gives, every new member of the welcome
//! webhook got the welcome email.
//!
//! Seeded: `CHAOS_SEED=N` replays a run's workload and fault sequence (the seed is printed at
//! the start and in every failure); `CHAOS_ROUNDS` (default 6), `CHAOS_OPS` (operations per
//! round, default 10), `CHAOS_FAULTS` (per mille of AWS calls failing, default 60) and
//! `CHAOS_ABORTS` (per mille of invocations aborted, default 80) size it. Calls made
//! concurrently draw their faults in the order they happen to be sent, and an abort lands
//! wherever the invocation is after its few milliseconds, so a seed replays the same workload and
//! fault rates but not always the same interleaving.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchboard_tests::bridge::{self, StreamPoller};
use switchboard_tests::fixtures::{endpoint_id, receiver};
use switchboard_tests::{enc, sdk_config, Resp, TestEnv};

/// A small seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() >> 33).unwrap_or(0) % n.max(1)
    }

    fn per_mille(&mut self, p: u32) -> bool {
        self.next() % 1000 < u64::from(p)
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The run's knobs and the abort generator (shared with the relay's invoke wrapper).
struct Chaos {
    seed: u64,
    aborts: std::sync::atomic::AtomicU32,
    rng: Mutex<Rng>,
    aborted: std::sync::atomic::AtomicUsize,
}

impl Chaos {
    /// How long the next invocation may run before it is aborted (`None`: not aborted).
    fn abort_after(&self) -> Option<Duration> {
        let p = self.aborts.load(SeqCst);
        let mut rng = self.rng.lock().ok()?;
        if p == 0 || !rng.per_mille(p) {
            return None;
        }
        Some(Duration::from_millis(1 + rng.below(40) as u64))
    }

    /// Runs one invocation, aborted (dropped mid-flight) when the dice say so: `None`.
    /// Retries `call` (each try an invocation that may be aborted) until it answers `ok`, as
    /// the integrator and the platform do, at most [`TRIES`] times; any status other than `ok`
    /// and `503` fails the run. Returns how many tries answered `503`.
    async fn until<F: Future<Output = Resp>>(
        &self,
        ok: u16,
        what: &str,
        seen: &str,
        mut call: impl FnMut() -> F,
    ) -> usize {
        let mut refused = 0;
        for _ in 0..TRIES {
            let Some(r) = self.invoke(call()).await else {
                continue;
            };
            assert!(
                r.status == ok || r.status == 503,
                "{what} answered {} {}; {seen}",
                r.status,
                r.text
            );
            if r.status == ok {
                return refused;
            }
            refused += 1;
        }
        panic!("{what} never answered {ok}; {seen}");
    }

    async fn invoke<T>(&self, f: impl Future<Output = T>) -> Option<T> {
        match self.abort_after() {
            None => Some(f.await),
            Some(d) => {
                let r = tokio::time::timeout(d, f).await.ok();
                if r.is_none() {
                    self.aborted.fetch_add(1, SeqCst);
                }
                r
            }
        }
    }

    fn rerun(&self) -> String {
        format!(
            "chaos seed = {} (rerun: CHAOS_SEED={} cargo test --workspace --features local --test chaos -- --nocapture)",
            self.seed, self.seed
        )
    }
}

/// What an incoming webhook does (a form webhook: removals first, then additions).
struct Form {
    key: String,
    add: Vec<i64>,
    remove: Vec<i64>,
    welcome: bool,
}

/// The workload's model: what a fault-free replay ends with.
#[derive(Default)]
struct Model {
    spaces: BTreeMap<String, BTreeSet<i64>>,
    /// Membership changes: (event, email, space) → how many times it happened.
    changes: BTreeMap<(&'static str, String, i64), usize>,
    /// Members created by a webhook with the welcome email.
    welcomed: BTreeSet<String>,
    /// Published events: marker → event name.
    published: BTreeMap<u64, &'static str>,
}

impl Model {
    fn incoming(&mut self, form: &Form, email: &str) {
        let created = !self.spaces.contains_key(email);
        if created && form.welcome {
            self.welcomed.insert(email.to_string());
        }
        let spaces = self.spaces.entry(email.to_string()).or_default();
        for s in &form.remove {
            if spaces.remove(s) {
                *self
                    .changes
                    .entry(("space.member_left", email.to_string(), *s))
                    .or_default() += 1;
            }
        }
        for s in &form.add {
            if spaces.insert(*s) {
                *self
                    .changes
                    .entry(("space.member_joined", email.to_string(), *s))
                    .or_default() += 1;
            }
        }
    }
}

/// Whether an endpoint's subscription covers an event name.
type Subscribed = fn(&str) -> bool;

/// An endpoint under test: its receiver and what it is subscribed to.
struct Endpoint {
    id: i64,
    rx: wiremock::MockServer,
    /// `None`: its subscription changes during the run (not checked).
    subscribed: Option<Subscribed>,
}

/// Up to this many tries of one call before the run gives up (a real bug, or faults too dense).
const TRIES: usize = 40;

#[tokio::test]
async fn chaos_run_converges_to_the_fault_free_replay() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let rounds = env_number("CHAOS_ROUNDS", 10);
    let ops = env_number("CHAOS_OPS", 12);
    let faults = u32::try_from(env_number("CHAOS_FAULTS", 100)).unwrap_or(100);
    let aborts = u32::try_from(env_number("CHAOS_ABORTS", 150)).unwrap_or(150);
    let chaos = Arc::new(Chaos {
        seed,
        aborts: 0.into(),
        rng: Mutex::new(Rng::new(seed ^ 0xAB0A_7ED0)),
        aborted: 0.into(),
    });
    let seen = chaos.rerun();
    println!("{seen}; {rounds} rounds × {ops} operations, faults {faults}‰, aborts {aborts}‰");
    let started = Instant::now();
    let mut rng = Rng::new(seed);

    // ---------------------------------------------------------------- the world ----------
    let env = TestEnv::new().await;
    let mut sweep_cfg = env.stack.config();
    sweep_cfg.outbox_grace_seconds = -5;
    let sweeper = TestEnv::on(env.stack.clone(), sweep_cfg).await;
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let relay = {
        let (inner, chaos) = (bridge::in_process_relay(env.app.clone()), chaos.clone());
        let invoke: bridge::StreamInvoke = Arc::new(move |event: Value| {
            let (inner, chaos) = (inner.clone(), chaos.clone());
            Box::pin(async move { chaos.invoke(inner(event)).await.flatten() })
        });
        let poller = StreamPoller::new(
            aws_sdk_dynamodbstreams::Client::new(&sdk),
            env.stack.stream_arn.clone(),
            invoke,
            false,
        );
        poller.discover().await.expect("the table's stream");
        poller
    };
    let dispatch = bridge::in_process(env.app.clone());

    let (a, b, c) = (
        env.make("spaces", "A").await,
        env.make("spaces", "B").await,
        env.make("spaces", "C").await,
    );
    let mut forms = Vec::new();
    for (add, remove, welcome) in [
        (vec![a], vec![], true),
        (vec![b], vec![a], false),
        (vec![c], vec![], false),
        (vec![], vec![b, c], false),
    ] {
        let (_, key) = env
            .webhook(
                json!({"title": "Chaos", "space_ids": add, "remove_space_ids": remove,
                "send_wp_welcome_email": welcome}),
            )
            .await;
        forms.push(Form {
            key,
            add,
            remove,
            welcome,
        });
    }
    let mut endpoints = Vec::new();
    let subscriptions: [(Value, Option<Subscribed>); 4] = [
        (json!(["*"]), Some(|_| true)),
        (json!(["feed.created"]), Some(|e| e == "feed.created")),
        (json!(["space.*"]), Some(|e| e.starts_with("space."))),
        (json!(["comment.created"]), None),
    ];
    for (i, (events, subscribed)) in subscriptions.into_iter().enumerate() {
        let rx = receiver(200).await;
        let id = endpoint_id(&env, &format!("chaos-{i}"), &rx.uri(), events, json!({})).await;
        endpoints.push(Endpoint { id, rx, subscribed });
    }
    // Addresses no earlier run used (moto keeps every run's mail).
    let nonce = format!(
        "{seed:x}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let emails: Vec<String> = (0..6)
        .map(|i| format!("chaos-{nonce}-{i}@example.com"))
        .collect();

    // ---------------------------------------------------------------- the workload -------
    let mut model = Model::default();
    let mut marker = 0u64;
    let mut refused = 0usize;
    env.calls.fail_randomly(faults, seed ^ 0xFA17);
    sweeper.calls.fail_randomly(faults, seed ^ 0x5EE9);
    chaos.aborts.store(aborts, SeqCst);
    for round in 0..rounds {
        for _ in 0..ops {
            match rng.below(10) {
                // An incoming call: the integrator retries until 200.
                0..=4 => {
                    let email = &emails[rng.below(emails.len())];
                    let mut f = rng.below(forms.len());
                    if !model.spaces.contains_key(email) && forms[f].add.is_empty() {
                        f = 0; // a member is first created by a webhook that adds
                    }
                    let idem = rng
                        .per_mille(500)
                        .then(|| format!("chaos-{nonce}-{round}-{}", rng.next()));
                    refused += chaos
                        .until(200, "an incoming call", &seen, || {
                            join(&env, &forms[f].key, email, idem.as_deref())
                        })
                        .await;
                    model.incoming(&forms[f], email);
                }
                // A publish, retried with its key until 202.
                5..=7 => {
                    marker += 1;
                    let event = if rng.per_mille(500) {
                        "feed.created"
                    } else {
                        "comment.created"
                    };
                    let body = json!({"event": event, "data": {"n": marker, "run": nonce}});
                    let key = format!("chaos-{nonce}-{marker}");
                    refused += chaos
                        .until(202, "a publish", &seen, || publish(&env, &body, &key))
                        .await;
                    model.published.insert(marker, event);
                }
                // An endpoint edit: a rename or new headers for a checked endpoint (its
                // subscription stays), the subscription of the unchecked one.
                _ => {
                    let e = &endpoints[rng.below(endpoints.len())];
                    let n = rng.next() % 1000;
                    let patch = match (e.subscribed, n % 2) {
                        (None, 0) => json!({"events": ["comment.created"]}),
                        (None, _) => json!({"events": ["feed.created"]}),
                        (Some(_), 0) => json!({"name": format!("chaos-{n}")}),
                        (Some(_), _) => json!({"headers": {"X-Chaos": n.to_string()}}),
                    };
                    let path = format!("/admin/webhooks/{}", e.id);
                    refused += chaos
                        .until(200, "an endpoint edit", &seen, || {
                            env.admin("PATCH", &path, Some(patch.clone()))
                        })
                        .await;
                }
            }
        }
        // Between rounds the functions run under the same faults: the stream, both queues, and
        // now and then the sweeps.
        relay.drain(4).await;
        dispatch_pass(&env, &sqs, &dispatch, &chaos, &seen).await;
        if rng.per_mille(400) {
            sweep(&sweeper, &chaos).await;
        }
    }
    let workload = started.elapsed();

    // ---------------------------------------------------------------- the drain ----------
    env.calls.fail_randomly(0, 0);
    sweeper.calls.fail_randomly(0, 0);
    chaos.aborts.store(0, SeqCst);
    let mut quiet = 0;
    let mut passes = 0;
    while quiet < 2 {
        passes += 1;
        assert!(passes <= 60, "not quiescent after 60 passes; {seen}");
        let mut work = relay.drain(16).await;
        work += dispatch_pass(&env, &sqs, &dispatch, &chaos, &seen).await;
        work += sweep(&sweeper, &chaos).await;
        work += waiting(&sqs, &env).await;
        if work == 0 {
            quiet += 1;
        } else {
            quiet = 0;
            if waiting(&sqs, &env).await > 0 {
                // Delayed or in-flight messages (a retry's delay, a visibility timeout).
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    let drained = started.elapsed();
    let (dlq, outbox) = leftovers(&env, &sqs).await;
    let seen = format!("{seen} [dead-letter queue: {dlq} messages; outbox: {outbox}]");

    // ---------------------------------------------------------------- the checker --------
    for (email, spaces) in &model.spaces {
        let u = env
            .admin("GET", &format!("/admin/users?email={}", enc(email)), None)
            .await;
        let users = u.body["users"].as_array().cloned().unwrap_or_default();
        assert_eq!(users.len(), 1, "one member {email}: {}; {seen}", u.text);
        let got: BTreeSet<i64> = users[0]["spaces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["space_id"].as_i64())
            .collect();
        assert_eq!(
            &got, spaces,
            "{email}'s spaces differ from the fault-free replay; {seen}"
        );
    }

    let mut deliveries = 0;
    for (i, e) in endpoints.iter().enumerate() {
        for status in ["pending", "failed"] {
            let r = env
                .admin(
                    "GET",
                    &format!("/admin/webhooks/{}/deliveries?status={status}", e.id),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{}; {seen}", r.text);
            assert_eq!(
                r.body["pagination"]["total"], 0,
                "endpoint {i}: deliveries {status}: {}; {seen}",
                r.text
            );
        }
        let Some(subscribed) = e.subscribed else {
            continue;
        };
        // What the receiver got: distinct deliveries per published marker / membership change.
        let mut markers: BTreeSet<u64> = BTreeSet::new();
        let mut changes: BTreeMap<(String, String, i64), BTreeSet<String>> = BTreeMap::new();
        for req in e.rx.received_requests().await.unwrap_or_default() {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let event = body["event"].as_str().unwrap_or_default().to_string();
            assert!(
                subscribed(&event),
                "endpoint {i} got {event}, not subscribed; {seen}"
            );
            deliveries += 1;
            if body["data"]["run"] == nonce.as_str() {
                markers.extend(body["data"]["n"].as_u64());
            } else if let (Some(email), Some(s)) = (
                body["data"]["user"]["email"].as_str(),
                body["data"]["space_id"].as_i64(),
            ) {
                changes
                    .entry((event, email.to_string(), s))
                    .or_default()
                    .insert(body["delivery_id"].as_str().unwrap_or_default().into());
            }
        }
        for (n, event) in &model.published {
            assert!(
                !subscribed(event) || markers.contains(n),
                "endpoint {i} never got published event {n} ({event}); {seen}"
            );
        }
        for ((event, email, space), times) in &model.changes {
            if !subscribed(event) {
                continue;
            }
            let got = changes
                .get(&(event.to_string(), email.clone(), *space))
                .map_or(0, BTreeSet::len);
            assert!(
                got >= *times,
                "endpoint {i}: {event} of {email} in space {space}: {got} of {times}; {seen}"
            );
        }
    }

    // A welcome email claimed more than MAX_WELCOME_SENDS times is abandoned (and logged): the
    // only accepted way for one to be missing.
    let mail = env.stack.sent_mail().await;
    let mut items = None;
    let mut abandoned = 0;
    for email in &model.welcomed {
        if mail
            .iter()
            .any(|m| m.to_string().contains(&format!("{email}\"")))
        {
            continue;
        }
        if items.is_none() {
            items = Some(env.all_items().await);
        }
        let marker = items.iter().flatten().find(|i| {
            i.get("email").and_then(|e| e.as_s().ok()) == Some(email)
                && i.get("pk")
                    .and_then(|p| p.as_s().ok())
                    .is_some_and(|p| p.starts_with("WELCOME#"))
        });
        let state = marker
            .and_then(|m| m.get("state"))
            .and_then(|s| s.as_s().ok());
        assert_eq!(
            state.map(String::as_str),
            Some("abandoned"),
            "no welcome email to {email}, marker {marker:?}; {seen}"
        );
        abandoned += 1;
    }

    let checked = started.elapsed();
    let (before, lost) = (
        env.calls.random_faults.0.load(SeqCst) + sweeper.calls.random_faults.0.load(SeqCst),
        env.calls.random_faults.1.load(SeqCst) + sweeper.calls.random_faults.1.load(SeqCst),
    );
    assert!(
        before + lost > 0 || faults == 0,
        "faults were injected; {seen}"
    );
    println!(
        "{seen}: {} members, {} membership changes, {} publishes, {deliveries} deliveries; \
         {before} calls failed before sending, {lost} lost their response, {} invocations \
         aborted, {refused} answers 503, {abandoned} welcome emails abandoned; workload {:.1} s, drained in {passes} passes at {:.1} s, checked at {:.1} s",
        model.spaces.len(),
        model.changes.values().sum::<usize>(),
        model.published.len(),
        chaos.aborted.load(SeqCst),
        workload.as_secs_f64(),
        drained.as_secs_f64(),
        checked.as_secs_f64(),
    );
}

/// An incoming form call for `email`, with an `Idempotency-Key` or not.
async fn join(env: &TestEnv, key: &str, email: &str, idem: Option<&str>) -> Resp {
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    if let Some(k) = idem {
        headers.push(("idempotency-key", k));
    }
    env.incoming(
        "POST",
        &format!("/webhook/{key}"),
        headers,
        format!("email={}", enc(email)).into_bytes(),
    )
    .await
}

/// `POST /admin/events` with an `Idempotency-Key`.
async fn publish(env: &TestEnv, body: &Value, key: &str) -> Resp {
    env.admin_raw(
        "POST",
        "/admin/events",
        &[
            ("authorization", &switchboard_tests::basic("admin", "admin")),
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ],
        &body.to_string(),
        "203.0.113.9",
    )
    .await
}

/// The sweeper's sweeps (outbox re-send past a grace of -5 s, overdue deliveries and owed
/// welcome emails), each an invocation that may be aborted. Every sweep runs an hour after the
/// one before (the first an hour from now), so what an earlier sweep claimed has lapsed.
/// Returns what they did.
async fn sweep(sweeper: &TestEnv, chaos: &Chaos) -> usize {
    static HOURS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let later = jiff::Timestamp::now().as_second() + 3600 * (HOURS.fetch_add(1, SeqCst) + 1);
    let app = &sweeper.app;
    let mut n = 0;
    n += chaos
        .invoke(app.outbox().sweep_at(later))
        .await
        .and_then(Result::ok)
        .unwrap_or(0);
    n += chaos
        .invoke(app.deliveries().sweep_deliveries_at(later))
        .await
        .and_then(Result::ok)
        .unwrap_or(0);
    n += chaos
        .invoke(app.incoming().sweep_welcome_at(later))
        .await
        .and_then(Result::ok)
        .unwrap_or(0);
    n
}

/// What is left where only an operator looks: messages on the dead-letter queue, and the
/// outbox batches still in the table (acked or not, parked or not).
async fn leftovers(env: &TestEnv, sqs: &aws_sdk_sqs::Client) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let dlq = sqs
        .get_queue_attributes()
        .queue_url(&env.stack.dlq_url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .send()
        .await
        .ok()
        .and_then(|r| {
            r.attributes()?
                .get(&A::ApproximateNumberOfMessages)
                .cloned()
        })
        .unwrap_or_default();
    let outbox: Vec<String> = env
        .all_items()
        .await
        .iter()
        .filter(|i| {
            i.get("pk")
                .and_then(|p| p.as_s().ok())
                .is_some_and(|p| p.starts_with("OUTBOX#"))
        })
        .map(|i| {
            let mut names: Vec<&str> = i
                .keys()
                .map(String::as_str)
                .filter(|k| ["acked_at", "parked", "attempts", "sent_at"].contains(k))
                .collect();
            names.sort_unstable();
            format!("batch ({})", names.join(", "))
        })
        .collect();
    (dlq, format!("{} batches {outbox:?}", outbox.len()))
}

/// Messages of both queues not visible yet (delayed) or in flight.
async fn waiting(sqs: &aws_sdk_sqs::Client, env: &TestEnv) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut n = 0;
    for url in [&env.stack.queue_url, &env.stack.slow_queue_url] {
        let r = sqs
            .get_queue_attributes()
            .queue_url(url.as_str())
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes");
        for v in r.attributes().into_iter().flat_map(|a| a.values()) {
            n += v.parse::<usize>().unwrap_or(0);
        }
    }
    n
}

/// Plays both queues' event source mappings once over what is visible: batches of up to 10 to
/// `dispatch` (an invocation that may be aborted), the handled messages deleted, the others
/// made visible again at once (SQS would after the visibility timeout). Returns how many
/// messages were handed to `dispatch`.
async fn dispatch_pass(
    env: &TestEnv,
    sqs: &aws_sdk_sqs::Client,
    dispatch: &bridge::Invoke,
    chaos: &Chaos,
    seen: &str,
) -> usize {
    let mut handed = 0;
    for url in [&env.stack.queue_url, &env.stack.slow_queue_url] {
        for _ in 0..50 {
            let r = sqs
                .receive_message()
                .queue_url(url.as_str())
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap_or_else(|e| panic!("receive: {e}; {seen}"));
            let messages = r.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            handed += messages.len();
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    let count = m
                        .attributes()
                        .and_then(|a| {
                            a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                        })
                        .cloned()
                        .unwrap_or_else(|| "1".into());
                    json!({
                        "messageId": m.message_id(),
                        "receiptHandle": m.receipt_handle(),
                        "body": m.body(),
                        "attributes": {"ApproximateReceiveCount": count},
                        "messageAttributes": {},
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:chaos",
                        "awsRegion": "us-east-1"
                    })
                })
                .collect();
            let failures = chaos
                .invoke(dispatch(json!({ "Records": records })))
                .await
                .flatten();
            for m in &messages {
                let failed = failures
                    .as_ref()
                    .is_none_or(|f| f.iter().any(|id| Some(id.as_str()) == m.message_id()));
                let Some(h) = m.receipt_handle() else {
                    continue;
                };
                if failed {
                    let _ = sqs
                        .change_message_visibility()
                        .queue_url(url.as_str())
                        .receipt_handle(h)
                        .visibility_timeout(0)
                        .send()
                        .await;
                } else {
                    let _ = sqs
                        .delete_message()
                        .queue_url(url.as_str())
                        .receipt_handle(h)
                        .send()
                        .await;
                }
            }
        }
    }
    handed
}
