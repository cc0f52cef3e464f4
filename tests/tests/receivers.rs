//! The seeds' own receiver code accepts every delivery: the Node express verifier of seed 003
//! (`JSON.stringify(req.body)` + HMAC), the PHP `hash_hmac` check of seed 004, and the reference
//! Standard Webhooks verifier (PyPI `standardwebhooks`), over payloads with non-ASCII text,
//! emoji, quotes, control characters, large integers, floats and nesting.
//!
//! Needs `node` with `tests/receivers/node_modules` (`npm ci` there), `.venv` with
//! `standardwebhooks`, and `php`: `make test` installs all three.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use switchboard_tests::TestEnv;
use tokio::process::{Child, Command};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn spawn(program: &str, args: &[&str], port: u16, secret: &str, log: &str) -> Child {
    Command::new(program)
        .args(args)
        .current_dir(root().join("tests/receivers"))
        .env("PORT", port.to_string())
        .env("SECRET", secret)
        .env("LOG", log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {program}: {e} (make test installs the receivers' toolchains)")
        })
}

async fn results(port: u16) -> Value {
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/results")).await {
            if let Ok(v) = r.json::<Value>().await {
                return v;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("receiver on {port} never answered");
}

#[tokio::test]
async fn seed_receivers_accept_every_delivery() {
    assert!(
        root().join("tests/receivers/node_modules/express").exists(),
        "run `npm ci` in tests/receivers (make test does)"
    );
    let secret = switchboard::domain::secret::outgoing_secret();
    let (node_port, py_port, php_port) = (free_port(), free_port(), free_port());
    let log = std::env::temp_dir().join(format!("sb-php-{php_port}.json"));
    let _ = std::fs::remove_file(&log);
    let log = log.to_string_lossy().to_string();
    let python = root().join(".venv/bin/python");
    let python = if python.exists() {
        python.to_string_lossy().to_string()
    } else {
        "python3".into()
    };
    let _node = spawn("node", &["express_verifier.js"], node_port, &secret, &log).await;
    let _py = spawn(&python, &["sw_verifier.py"], py_port, &secret, &log).await;
    let php_addr = format!("127.0.0.1:{php_port}");
    let _php = spawn(
        "php",
        &["-S", &php_addr, "php_verifier.php"],
        php_port,
        &secret,
        &log,
    )
    .await;
    for port in [node_port, py_port, php_port] {
        results(port).await;
    }

    let env = TestEnv::new().await;
    for (name, url) in [
        (
            "node express (seed 003)",
            format!("http://127.0.0.1:{node_port}/webhook"),
        ),
        (
            "standardwebhooks (PyPI)",
            format!("http://127.0.0.1:{py_port}/webhook"),
        ),
        (
            "php hash_hmac (seed 004)",
            format!("http://127.0.0.1:{php_port}/webhook"),
        ),
    ] {
        let r = env
            .admin(
                "POST",
                "/admin/webhooks",
                Some(json!({"name": name, "url": url, "events": ["*"], "secret": secret})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let payloads = [
        json!({"title": "Ünïcödé ñ 中文 العربية", "emoji": "😀🎉👩‍👩‍👧", "quotes": "\"double\" 'single' `back`"}),
        json!({"controls": "line\nbreak\ttab\r\u{0}\u{1}\u{1f}\u{7f}\u{2028}\u{2029}", "slash": "a/b\\c", "html": "<img src=x onerror=alert(1)>"}),
        json!({"big": 820982911946154508u64, "max_safe": 9007199254740991u64, "neg": -9007199254740993i64, "float": 0.1, "whole": 2.0, "exp": 1e21, "tiny": 5e-324}),
        json!({"nested": {"z": [1, [2, [3, {"deep": {"deeper": [null, true, false]}}]]], "10": "ten", "2": "two", "a": {}}, "empty": [], "": "empty key"}),
        json!({"contact": {"id": 123, "email": "user@example.com", "first_name": "John", "status": "subscribed"}}),
    ];
    for (i, data) in payloads.iter().enumerate() {
        let event = if i % 2 == 0 {
            "feed.created"
        } else {
            "contact.created"
        };
        let r = env.publish(json!({"event": event, "data": data})).await;
        assert_eq!(r.status, 202, "{}", r.text);
    }
    // A member-based event too (xprofile from the store).
    let (_, key) = env.webhook(json!({"title": "T"})).await;
    env.post_form(
        &key,
        &[
            ("email", "zoë@example.com"),
            ("first_name", "Zoë \"Z\" <b>"),
        ],
    )
    .await;
    env.pump().await;

    let expected = payloads.len() + 2; // + user.registered + incoming_webhook.processed
    for (name, port) in [
        ("node express", node_port),
        ("standardwebhooks", py_port),
        ("php", php_port),
    ] {
        let r = results(port).await;
        assert_eq!(r["bad"], json!([]), "{name} rejected deliveries: {r}");
        assert_eq!(r["ok"], expected, "{name}: {r}");
    }
}
