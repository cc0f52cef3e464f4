//! Test support: a private AWS stack on moto per test (unique table and queues, never a reset),
//! in-process requests shaped like API Gateway v2 events, and moto's record of sent mail.

pub mod bridge;
pub mod fixtures;
pub mod stack;

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use switchboard::app::App;
use switchboard::config::Config;
use tower::ServiceExt;

pub use stack::{sdk_config, Stack};

/// Counts the AWS calls an app makes, per service.
#[derive(Debug, Default)]
pub struct CallCounter {
    pub dynamodb: AtomicUsize,
    pub sqs: AtomicUsize,
    pub ses: AtomicUsize,
    /// Calls per operation (`PutItem`, `SendMessage`, ...).
    pub operations: std::sync::Mutex<std::collections::BTreeMap<String, usize>>,
    /// Every call, all services (the fault matrix numbers calls with it).
    pub total: AtomicUsize,
    /// Fault injection: the call with this number (from [`CallCounter::total`]) fails; 0: none.
    pub fail_at: AtomicUsize,
    /// Whether the failing call fails after AWS applied it (its response is lost) rather than
    /// before it is sent.
    pub fail_after: std::sync::atomic::AtomicBool,
    /// An SQS outage: while set, every SQS call fails before it is sent.
    pub sqs_down: std::sync::atomic::AtomicBool,
    /// Calls sent and not yet answered.
    pub in_flight: AtomicUsize,
    /// Round trips: how many times a call was sent while none was in flight (calls sent
    /// concurrently share one).
    pub round_trips: AtomicUsize,
    /// Random faults (the chaos run): each call fails with this probability, in per mille
    /// (0: none), before it is sent or after AWS applied it (its response lost), half each.
    pub fail_rate: AtomicU32,
    /// The random faults' generator (xorshift64*), seeded by [`CallCounter::fail_randomly`].
    rng: AtomicU64,
    /// How many random faults were injected (before sending, response lost).
    pub random_faults: (AtomicUsize, AtomicUsize),
}

/// A call whose response the random faults lose (it fails after AWS applied it).
#[derive(Clone, Debug)]
struct LoseResponse;

impl aws_smithy_types::config_bag::Storable for LoseResponse {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// A call's number, kept in its config bag from send to response.
#[derive(Clone, Debug)]
struct CallNo(usize);

impl aws_smithy_types::config_bag::Storable for CallNo {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// The fault a test injected.
#[derive(Debug)]
struct Injected(usize);

impl std::fmt::Display for Injected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "injected fault at call {}", self.0)
    }
}

impl std::error::Error for Injected {}

#[derive(Debug)]
struct Count(Arc<CallCounter>, &'static str);

impl aws_smithy_runtime_api::client::interceptors::Intercept for Count {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let c = match self.1 {
            "dynamodb" => &self.0.dynamodb,
            "sqs" => &self.0.sqs,
            _ => &self.0.ses,
        };
        c.fetch_add(1, Ordering::SeqCst);
        let n = self.0.total.fetch_add(1, Ordering::SeqCst) + 1;
        cfg.interceptor_state().store_put(CallNo(n));
        if n == self.0.fail_at.load(Ordering::SeqCst) && !self.0.fail_after.load(Ordering::SeqCst) {
            return Err(Box::new(Injected(n)));
        }
        if self.1 == "sqs" && self.0.sqs_down.load(Ordering::SeqCst) {
            return Err(Box::new(Injected(n)));
        }
        let rate = u64::from(self.0.fail_rate.load(Ordering::SeqCst));
        if rate > 0 {
            let r = self.0.random();
            if r % 1000 < rate {
                if (r >> 32) & 1 == 0 {
                    self.0.random_faults.0.fetch_add(1, Ordering::SeqCst);
                    return Err(Box::new(Injected(n)));
                }
                self.0.random_faults.1.fetch_add(1, Ordering::SeqCst);
                cfg.interceptor_state().store_put(LoseResponse);
            }
        }
        let req = ctx.request();
        let op = req
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .map(str::to_string)
            .or_else(|| {
                // Query-protocol services (SES) name the action in the form body.
                req.body()
                    .bytes()
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .and_then(|b| b.split('&').find_map(|kv| kv.strip_prefix("Action=")))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "unknown".into());
        if let Ok(mut ops) = self.0.operations.lock() {
            *ops.entry(format!("{}:{op}", self.1)).or_default() += 1;
        }
        if self.0.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            self.0.round_trips.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let _ = self
            .0
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        let n = cfg.load::<CallNo>().map_or(0, |c| c.0);
        if n == self.0.fail_at.load(Ordering::SeqCst) && self.0.fail_after.load(Ordering::SeqCst) {
            return Err(Box::new(Injected(n)));
        }
        if cfg.load::<LoseResponse>().is_some() {
            return Err(Box::new(Injected(n)));
        }
        Ok(())
    }
}

impl CallCounter {
    /// Makes the `k`-th call from now fail (`after`: once AWS applied it); `k = 0` clears it.
    pub fn fail_in(&self, k: usize, after: bool) {
        self.fail_after.store(after, Ordering::SeqCst);
        let at = if k == 0 {
            0
        } else {
            self.total.load(Ordering::SeqCst) + k
        };
        self.fail_at.store(at, Ordering::SeqCst);
    }

    /// Makes every call from now fail with probability `per_mille` / 1000 (before it is sent
    /// or with its response lost, half each), drawn from a generator seeded with `seed`;
    /// `per_mille = 0` stops it. Calls made concurrently draw in the order they are sent.
    pub fn fail_randomly(&self, per_mille: u32, seed: u64) {
        // xorshift needs a non-zero state.
        self.rng.store(seed | 1, Ordering::SeqCst);
        self.fail_rate.store(per_mille.min(1000), Ordering::SeqCst);
    }

    /// The next draw of the random faults' generator (xorshift64*).
    fn random(&self) -> u64 {
        let step = |mut x: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let prev = self
            .rng
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |x| Some(step(x)))
            .unwrap_or(1);
        step(prev).wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn operations(&self) -> std::collections::BTreeMap<String, usize> {
        self.operations
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default()
    }

    pub fn snapshot(&self) -> (usize, usize, usize) {
        (
            self.dynamodb.load(Ordering::SeqCst),
            self.sqs.load(Ordering::SeqCst),
            self.ses.load(Ordering::SeqCst),
        )
    }
}

/// One test's world: its own stack, the app over it and both routers.
pub struct TestEnv {
    pub stack: Stack,
    pub app: Arc<App>,
    pub admin: Router,
    pub incoming: Router,
    pub calls: Arc<CallCounter>,
    /// The table's stream → this app's `relay`, from the app's creation on (`LATEST`).
    pub stream: Arc<bridge::StreamPoller>,
}

/// An HTTP response as the tests look at it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestEnv {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A fresh stack, with configuration overrides.
    pub async fn with(f: impl FnOnce(&mut Config)) -> Self {
        let stack = Stack::create().await;
        let mut config = stack.config();
        f(&mut config);
        Self::on(stack, config).await
    }

    /// An app over an existing stack (e.g. a second app with another configuration).
    pub async fn on(stack: Stack, config: Config) -> Self {
        Self::on_with(stack, config, |app| app).await
    }

    /// A fresh stack, with configuration overrides and a changed app (e.g. another resolver).
    pub async fn with_app(f: impl FnOnce(&mut Config), g: impl FnOnce(App) -> App) -> Self {
        let stack = Stack::create().await;
        let mut config = stack.config();
        f(&mut config);
        Self::on_with(stack, config, g).await
    }

    async fn on_with(stack: Stack, config: Config, g: impl FnOnce(App) -> App) -> Self {
        let sdk = sdk_config().await;
        let calls = Arc::new(CallCounter::default());
        let ddb = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(Count(calls.clone(), "dynamodb"))
            .build();
        let sqs = aws_sdk_sqs::config::Builder::from(&sdk)
            .interceptor(Count(calls.clone(), "sqs"))
            .build();
        let ses = aws_sdk_ses::config::Builder::from(&sdk)
            .interceptor(Count(calls.clone(), "ses"))
            .build();
        let vault = switchboard::vault::Vault::new(
            aws_sdk_kms::Client::new(&sdk),
            config.sealing_key_id.clone(),
        );
        let app = Arc::new(g(App::from_clients(
            config,
            aws_sdk_dynamodb::Client::from_conf(ddb),
            aws_sdk_sqs::Client::from_conf(sqs),
            aws_sdk_ses::Client::from_conf(ses),
            vault,
        )));
        let stream = bridge::StreamPoller::new(
            aws_sdk_dynamodbstreams::Client::new(&sdk),
            stack.stream_arn.clone(),
            bridge::in_process_relay(app.clone()),
            false,
        );
        stream.discover().await.expect("the table's stream");
        Self {
            admin: switchboard::transport::admin::router(app.clone()),
            incoming: switchboard::transport::incoming::router(app.clone()),
            stack,
            app,
            calls,
            stream: Arc::new(stream),
        }
    }

    /// A new SQS client whose calls this env counts and fails like its app's (`sqs_down`):
    /// e.g. the bridge's poller, so that an outage stops its receives too.
    pub async fn counted_sqs(&self) -> aws_sdk_sqs::Client {
        let sdk = sdk_config().await;
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&sdk)
                .interceptor(Count(self.calls.clone(), "sqs"))
                .build(),
        )
    }

    /// An admin call with the local credentials.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let mut headers = vec![("authorization".to_string(), basic("admin", "admin"))];
        let raw = match body {
            Some(b) => {
                headers.push(("content-type".into(), "application/json".into()));
                b.to_string().into_bytes()
            }
            None => vec![],
        };
        call(&self.admin, method, path, headers, raw, "203.0.113.9").await
    }

    /// An admin call with a raw body and any headers (broken JSON, other credentials, CSRF
    /// headers) from `ip`.
    pub async fn admin_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
        ip: &str,
    ) -> Resp {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        call(
            &self.admin,
            method,
            path,
            headers,
            body.as_bytes().to_vec(),
            ip,
        )
        .await
    }

    /// Publishes one event through `POST /admin/events`; the API must accept it (`202`).
    pub async fn publish(&self, event: Value) -> Resp {
        let r = self.admin("POST", "/admin/events", Some(event)).await;
        assert_eq!(r.status, 202, "publish: {}", r.text);
        r
    }

    /// An incoming call from `203.0.113.9`.
    pub async fn incoming(
        &self,
        method: &str,
        path: &str,
        headers: Vec<(&str, &str)>,
        body: Vec<u8>,
    ) -> Resp {
        self.incoming_from(method, path, headers, body, "203.0.113.9")
            .await
    }

    pub async fn incoming_from(
        &self,
        method: &str,
        path: &str,
        headers: Vec<(&str, &str)>,
        body: Vec<u8>,
        ip: &str,
    ) -> Resp {
        let headers = headers
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        call(&self.incoming, method, path, headers, body, ip).await
    }

    /// Creates a space or course through the admin API and returns its id.
    pub async fn make(&self, plural: &str, title: &str) -> i64 {
        let r = self
            .admin(
                "POST",
                &format!("/admin/{plural}"),
                Some(json!({"title": title})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_i64().unwrap_or_default()
    }

    /// Creates an incoming webhook and returns (id, key).
    pub async fn webhook(&self, body: Value) -> (i64, String) {
        let r = self
            .admin("POST", "/admin/incoming-webhooks", Some(body))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        (
            r.body["id"].as_i64().unwrap_or_default(),
            r.body["key"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// POSTs a url-encoded form to `/webhook/{key}`.
    pub async fn post_form(&self, key: &str, form: &[(&str, &str)]) -> Resp {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.incoming(
            "POST",
            &format!("/webhook/{key}"),
            vec![("content-type", "application/x-www-form-urlencoded")],
            body.into_bytes(),
        )
        .await
    }

    /// Every item of the test's table (a Scan: test inspection only, never on a request path).
    pub async fn all_items(&self) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        let out = self
            .app
            .store_for_tests()
            .table
            .client()
            .0
            .scan()
            .table_name(&self.stack.table)
            .send()
            .await
            .expect("scan");
        out.items.unwrap_or_default()
    }

    /// Plays `relay` and `dispatch`: relays the new stream records, receives every visible message of the event queue and the slow lane,
    /// handles it, deletes it when handled; repeats until neither has anything visible.
    /// Returns how many were handled.
    pub async fn pump(&self) -> usize {
        let mut handled = 0;
        loop {
            self.relay_stream().await;
            let n = self.pump_queue(&self.stack.queue_url).await
                + self.pump_queue(&self.stack.slow_queue_url).await;
            if n == 0 {
                return handled;
            }
            handled += n;
        }
    }

    /// Plays `dispatch` only (the stream is relayed elsewhere, e.g. by a running poller).
    pub async fn pump_queues(&self) -> usize {
        self.pump_queue(&self.stack.queue_url).await
            + self.pump_queue(&self.stack.slow_queue_url).await
    }

    async fn pump_queue(&self, url: &str) -> usize {
        let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
        let mut handled = 0;
        loop {
            let r = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .send()
                .await
                .expect("receive");
            let msgs = r.messages.unwrap_or_default();
            if msgs.is_empty() {
                return handled;
            }
            for m in msgs {
                let body = m.body().unwrap_or_default().to_string();
                if self.app.deliveries().handle_message(&body).await.is_ok() {
                    handled += 1;
                    if let Some(h) = m.receipt_handle() {
                        let _ = sqs
                            .delete_message()
                            .queue_url(url)
                            .receipt_handle(h)
                            .send()
                            .await;
                    }
                }
            }
        }
    }

    /// Plays the relay's event source mapping: hands the table's new stream records to this
    /// app's `relay` until none is left (a failing relay is retried a few times, bisecting).
    /// Returns how many records were done.
    pub async fn relay_stream(&self) -> usize {
        self.stream.drain(8).await
    }

    /// Bodies of the messages waiting on the event queue (received, then made visible again).
    pub async fn queued(&self) -> Vec<Value> {
        self.relay_stream().await;
        self.stack.drain_queue(&self.stack.queue_url).await
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Sends one request through a router as API Gateway v2 would deliver it.
pub async fn call(
    router: &Router,
    method: &str,
    path: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    ip: &str,
) -> Resp {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut hdrs = serde_json::Map::new();
    for (k, v) in headers {
        hdrs.insert(k.to_lowercase(), Value::String(v));
    }
    let is_text = std::str::from_utf8(&body).is_ok();
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": ip, "userAgent": "test"},
            "requestId": "req",
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Nov/2026:10:00:00 +0000",
            "timeEpoch": 0
        },
        "body": if is_text { Value::String(String::from_utf8(body.clone()).unwrap_or_default()) } else { Value::String(base64::engine::general_purpose::STANDARD.encode(&body)) },
        "isBase64Encoded": !is_text,
    });
    let req = lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway event");
    send(router, req).await
}

/// Runs one request through a router and collects the response.
pub async fn send(router: &Router, req: lambda_http::Request) -> Resp {
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .expect("router is infallible");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).to_string();
    Resp {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}
