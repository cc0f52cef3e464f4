//! Isolation under backlog (issue 11): events published to a healthy endpoint beside a hung
//! one, through the local bridge's poller at its default concurrency (4 batches in flight per
//! queue) into `dispatch` (in process), as deployed (`FAST_LANE_MS` = 3000, 30 s attempts). The
//! healthy endpoint must receive everything within 1.5 × the time it takes alone (+ 2 s), and
//! every delivery to the hung endpoint must be recorded `pending` or `failed` — none lost.
//!
//! `ISOLATION_EVENTS` sets the number of events (default 600, the size: about 40 s for
//! both runs on a 2-core machine).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_tests::bridge::{in_process, Poller, DEFAULT_CONCURRENCY};
use switchboard_tests::fixtures::endpoint_id;
use switchboard_tests::{sdk_config, TestEnv};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const PUBLISHERS: usize = 8;

fn events() -> usize {
    std::env::var("ISOLATION_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600)
}

/// A receiver that accepts connections and never answers.
async fn hung() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    format!("http://{addr}/")
}

async fn endpoint(env: &TestEnv, name: &str, url: &str) -> i64 {
    endpoint_id(env, name, url, json!(["feed.created"]), json!({})).await
}

struct Run {
    env: Arc<TestEnv>,
    elapsed: Duration,
    hung_id: Option<i64>,
    pollers: Vec<tokio::task::JoinHandle<()>>,
}

async fn run(n: usize, with_hung: bool) -> Run {
    let env = Arc::new(
        TestEnv::with(|c| {
            c.fast_lane_ms = 3000;
            c.delivery_timeout_seconds = 30;
        })
        .await,
    );
    let healthy = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&healthy)
        .await;
    endpoint(&env, "healthy", &healthy.uri()).await;
    let hung_id = if with_hung {
        Some(endpoint(&env, "hung", &hung().await).await)
    } else {
        None
    };
    let poller = Poller {
        sqs: aws_sdk_sqs::Client::new(&sdk_config().await),
        invoke: in_process(env.app.clone()),
        visibility: 120,
        concurrency: DEFAULT_CONCURRENCY,
    };
    let pollers = vec![
        tokio::spawn(env.stream.clone().run()),
        tokio::spawn(poller.clone().run(env.stack.queue_url.clone())),
        tokio::spawn(poller.run(env.stack.slow_queue_url.clone())),
    ];
    let started = Instant::now();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let env = env.clone();
            tokio::spawn(async move {
                for i in (p..n).step_by(PUBLISHERS) {
                    env.publish(json!({"event": "feed.created", "data": {"n": i}}))
                        .await;
                }
            })
        })
        .collect();
    for p in publishers {
        p.await.unwrap();
    }
    loop {
        let got = healthy.received_requests().await.unwrap_or_default().len();
        if got >= n {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the healthy endpoint got {got} of {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Run {
        env,
        elapsed: started.elapsed(),
        hung_id,
        pollers,
    }
}

async fn count(env: &TestEnv, wid: i64, status: Option<&str>) -> usize {
    env.app
        .store_for_tests()
        .deliveries
        .list(
            wid,
            status.and_then(|s| {
                s.parse::<switchboard::domain::delivery::DeliveryStatus>()
                    .ok()
            }),
            &Default::default(),
        )
        .await
        .unwrap()
        .total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_endpoint_does_not_slow_a_healthy_one_under_backlog() {
    let n = events();
    let alone = run(n, false).await;
    for p in &alone.pollers {
        p.abort();
    }
    let shared = run(n, true).await;
    let limit = alone.elapsed.mul_f64(1.5) + Duration::from_secs(2);
    println!(
        "{n} events: healthy endpoint alone {:.1} s, beside a hung endpoint {:.1} s (limit {:.1} s)",
        alone.elapsed.as_secs_f64(),
        shared.elapsed.as_secs_f64(),
        limit.as_secs_f64()
    );
    assert!(
        shared.elapsed <= limit,
        "{:?} beside a hung endpoint vs {:?} alone",
        shared.elapsed,
        alone.elapsed
    );

    // Every delivery to the hung endpoint is recorded, pending or failed by the rules.
    let hid = shared.hung_id.unwrap_or_default();
    let started = Instant::now();
    while count(&shared.env, hid, None).await < n {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "hung deliveries recorded: {} of {n}",
            count(&shared.env, hid, None).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for p in &shared.pollers {
        p.abort();
    }
    let pending = count(&shared.env, hid, Some("pending")).await;
    let failed = count(&shared.env, hid, Some("failed")).await;
    assert_eq!(
        count(&shared.env, hid, None).await,
        n,
        "one delivery per event"
    );
    assert_eq!(pending + failed, n, "pending {pending}, failed {failed}");
    let ep = shared
        .env
        .admin("GET", &format!("/admin/webhooks/{hid}"), None)
        .await;
    assert_ne!(ep.body["status"], "inactive");
}
