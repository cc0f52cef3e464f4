//! The admin API's security (docs/reference/security.md): no ambient credential authorizes a change
//! (CSRF rules, JSON-only bodies, no Basic prompt for browsers, a credential-free UI shell), failed
//! sign-ins back off per source across instances, and scoped application passwords.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard_tests::{basic, Resp, TestEnv};

const IP: &str = "203.0.113.9";
const HOST: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

/// `GET /admin/spaces` with this `Authorization`, from `ip`.
async fn spaces_as(env: &TestEnv, authorization: &str, ip: &str) -> Resp {
    env.admin_raw(
        "GET",
        "/admin/spaces",
        &[("authorization", authorization)],
        "",
        ip,
    )
    .await
}

fn assert_wp(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["code"], code, "{}", r.text);
    assert_eq!(r.body["data"]["status"], status, "{}", r.text);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

async fn total(env: &TestEnv, path: &str) -> i64 {
    let r = env.admin("GET", path, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["pagination"]["total"].as_i64().unwrap_or(-1)
}

// --- CSRF ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unsafe_requests_from_other_sites_are_refused_on_every_alias() {
    let env = TestEnv::new().await;
    let auth = basic("admin", "admin");
    let webhook = r#"{"name":"x","url":"http://127.0.0.1:9/x","events":["*"]}"#;
    let targets = [
        ("/admin/spaces", r#"{"title":"S"}"#),
        ("/admin/webhooks", webhook),
        ("/wp-json/fluent-community/v2/admin/webhooks", webhook),
        ("/wp-json/fluent-crm/v2/webhooks", webhook),
    ];
    let foreign: [&[(&str, &str)]; 5] = [
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        &[(
            "origin",
            "http://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        )],
    ];
    for (path, body) in targets {
        for extra in foreign {
            let mut h = vec![
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("host", HOST),
                ("x-forwarded-proto", "https"),
            ];
            h.extend_from_slice(extra);
            let r = env.admin_raw("POST", path, &h, body, IP).await;
            assert_wp(&r, 403, "rest_forbidden");
        }
        // DELETE and PUT too.
        for method in ["PUT", "DELETE", "PATCH"] {
            let h = [
                ("authorization", auth.as_str()),
                ("sec-fetch-site", "cross-site"),
            ];
            let r = env
                .admin_raw(method, &format!("{path}/1"), &h, "", IP)
                .await;
            assert_wp(&r, 403, "rest_forbidden");
        }
    }
    assert_eq!(total(&env, "/admin/spaces").await, 0);
    assert_eq!(total(&env, "/admin/webhooks").await, 0);

    // Same-origin browser requests, and clients that send neither header, work.
    for extra in [
        vec![("sec-fetch-site", "same-origin")],
        vec![(
            "origin",
            "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        )],
        vec![("sec-fetch-site", "none")],
        vec![],
    ] {
        let mut h = vec![
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("host", HOST),
            ("x-forwarded-proto", "https"),
        ];
        h.extend(extra.iter().copied());
        let r = env
            .admin_raw("POST", "/admin/spaces", &h, r#"{"title":"S"}"#, IP)
            .await;
        assert_eq!(r.status, 201, "{extra:?}: {}", r.text);
    }
    // Safe methods are not refused (a cross-site GET reads nothing without credentials).
    let h = [
        ("authorization", auth.as_str()),
        ("sec-fetch-site", "cross-site"),
    ];
    let r = env.admin_raw("GET", "/admin/spaces", &h, "", IP).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn admin_bodies_must_be_json() {
    let env = TestEnv::new().await;
    let auth = basic("admin", "admin");
    for (path, method) in [
        ("/admin/spaces", "POST"),
        ("/admin/webhooks", "POST"),
        ("/wp-json/fluent-community/v2/admin/webhooks", "POST"),
        ("/wp-json/fluent-crm/v2/webhooks", "POST"),
        ("/admin/events", "POST"),
        ("/admin/spaces/1", "PUT"),
    ] {
        for ct in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let mut h = vec![("authorization", auth.as_str())];
            if let Some(ct) = ct {
                h.push(("content-type", ct));
            }
            let body = r#"{"title":"S","name":"x","url":"http://127.0.0.1:9/","events":["*"],"event":"feed.created"}"#;
            let r = env.admin_raw(method, path, &h, body, IP).await;
            assert_wp(&r, 415, "rest_unsupported_media_type");
        }
    }
    assert_eq!(total(&env, "/admin/spaces").await, 0);
    assert_eq!(total(&env, "/admin/webhooks").await, 0);
    // JSON with a charset passes; a body-less POST needs no content type.
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json; charset=utf-8"),
    ];
    let r = env
        .admin_raw("POST", "/admin/spaces", &h, r#"{"title":"S"}"#, IP)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let h = [("authorization", auth.as_str())];
    let r = env
        .admin_raw("POST", "/admin/webhooks/999/test", &h, "", IP)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn browsers_never_get_a_basic_challenge_and_the_ui_shell_needs_no_credentials() {
    let env = TestEnv::new().await;
    let challenge = |r: &Resp| {
        r.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let r = env.admin_raw("GET", "/admin/spaces", &[], "", IP).await;
    assert_wp(&r, 401, "rest_forbidden");
    assert!(
        challenge(&r).starts_with("Basic"),
        "curl still gets the challenge"
    );
    for browser in [
        ("sec-fetch-mode", "cors"),
        ("sec-fetch-mode", "navigate"),
        ("x-requested-with", "XMLHttpRequest"),
        ("origin", "http://127.0.0.1:9000"),
    ] {
        let r = env
            .admin_raw("GET", "/admin/spaces", &[browser], "", IP)
            .await;
        assert_wp(&r, 401, "rest_forbidden");
        assert_eq!(challenge(&r), "", "{browser:?}");
    }
    for path in ["/admin/ui", "/admin/ui/app.js", "/admin/ui/access.js"] {
        let r = env
            .admin_raw("GET", path, &[("sec-fetch-mode", "navigate")], "", IP)
            .await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.headers.contains_key("content-security-policy"));
    }
    let r = env.admin_raw("POST", "/admin/ui", &[], "", IP).await;
    assert_eq!(r.status, 401, "only reading the shell is free");
}

// --- brute force ----------------------------------------------------------------------------

#[tokio::test]
async fn failed_sign_ins_back_off_per_source_across_instances() {
    let env = TestEnv::new().await;
    let wrong = basic("admin", "guess");
    let right = basic("admin", "admin");
    let attacker = "198.51.100.7";
    // Malformed headers are not password guesses: they are never counted.
    for _ in 0..15 {
        let r = spaces_as(&env, "Bearer x", attacker).await;
        assert_eq!(r.status, 401);
    }
    let free = switchboard::domain::auth::FREE_FAILURES;
    for i in 0..=free {
        let r = spaces_as(&env, wrong.as_str(), attacker).await;
        assert_eq!(r.status, 401, "failure {i}: {}", r.text);
    }
    // Backed off: even the right password is not checked, on this instance or another one.
    let other_instance = TestEnv::on(env.stack.clone(), env.stack.config()).await;
    for e in [&env, &other_instance] {
        let r = spaces_as(e, right.as_str(), attacker).await;
        assert_wp(&r, 429, "rest_rate_limited");
        let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=4).contains(&after), "{after}");
    }
    // Another source is not affected.
    let r = spaces_as(&env, right.as_str(), IP).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // After the wait, the right password passes and resets the count.
    tokio::time::sleep(Duration::from_millis(5100)).await;
    let r = spaces_as(&other_instance, right.as_str(), attacker).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for _ in 0..free {
        let r = spaces_as(&env, wrong.as_str(), attacker).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let r = spaces_as(&env, right.as_str(), attacker).await;
    assert_eq!(
        r.status, 200,
        "the count restarted after the success: {}",
        r.text
    );
}

// --- application passwords ------------------------------------------------------------------

async fn create_app_password(env: &TestEnv, name: &str, scope: &str) -> (i64, String) {
    let r = env
        .admin(
            "POST",
            "/admin/app-passwords",
            Some(json!({"name": name, "scope": scope})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["name"], name);
    assert_eq!(r.body["scope"], scope);
    let password = r.body["password"].as_str().expect("password").to_string();
    assert!(
        password.starts_with("sbp_") && password.len() > 40,
        "{password}"
    );
    (r.body["id"].as_i64().expect("id"), password)
}

async fn as_app(
    env: &TestEnv,
    user: &str,
    pw: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let auth = basic(user, pw);
    let mut h = vec![("authorization", auth.as_str())];
    if body.is_some() {
        h.push(("content-type", "application/json"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    env.admin_raw(method, path, &h, &body, IP).await
}

#[tokio::test]
async fn application_passwords_are_scoped_listed_without_secrets_and_revocable() {
    let env = TestEnv::new().await;
    let (pub_id, publish) = create_app_password(&env, "community-platform", "publish").await;
    let (_, read) = create_app_password(&env, "dashboard", "read").await;
    let (_, admin) = create_app_password(&env, "ops tool", "admin").await;
    let event = json!({"event": "feed.created", "data": {"id": 1}});

    // publish: only POST /admin/events.
    let r = as_app(
        &env,
        "community-platform",
        &publish,
        "POST",
        "/admin/events",
        Some(event.clone()),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    for (method, path, body) in [
        ("GET", "/admin/spaces", None),
        ("GET", "/admin/event-types", None),
        ("POST", "/admin/spaces", Some(json!({"title": "S"}))),
        ("GET", "/admin/app-passwords", None),
    ] {
        let r = as_app(&env, "community-platform", &publish, method, path, body).await;
        assert_wp(&r, 403, "rest_forbidden");
    }
    // read: GET only.
    let r = as_app(
        &env,
        "dashboard",
        &read,
        "GET",
        "/wp-json/fluent-crm/v2/webhooks",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = as_app(
        &env,
        "dashboard",
        &read,
        "POST",
        "/admin/events",
        Some(event.clone()),
    )
    .await;
    assert_wp(&r, 403, "rest_forbidden");
    let r = as_app(&env, "dashboard", &read, "DELETE", "/admin/spaces/1", None).await;
    assert_wp(&r, 403, "rest_forbidden");
    // admin: everything.
    let r = as_app(
        &env,
        "ops tool",
        &admin,
        "POST",
        "/admin/spaces",
        Some(json!({"title": "S"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // The name must match the password, which must match its hash.
    let r = as_app(
        &env,
        "dashboard",
        &publish,
        "POST",
        "/admin/events",
        Some(event.clone()),
    )
    .await;
    assert_wp(&r, 401, "rest_forbidden");
    let tampered = format!("{}x", &publish[..publish.len() - 1]);
    let r = as_app(
        &env,
        "community-platform",
        &tampered,
        "POST",
        "/admin/events",
        Some(event.clone()),
    )
    .await;
    assert_wp(&r, 401, "rest_forbidden");

    // The list: names, scopes, times; never a password or hash. last_used_at is set.
    let list = env.admin("GET", "/admin/app-passwords", None).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["pagination"]["total"], 3);
    let rows = list.body["app_passwords"].as_array().unwrap();
    for row in rows {
        let keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["id", "name", "scope", "created_at", "last_used_at"],
            "{row}"
        );
    }
    let platform = rows.iter().find(|r| r["id"] == pub_id).unwrap();
    assert!(platform["last_used_at"].is_string(), "{platform}");
    for secret in [&publish, &read, &admin] {
        assert!(!list.text.contains(secret.as_str()));
        let stored = format!("{:?}", env.all_items().await);
        assert!(!stored.contains(secret.as_str()), "stored in clear");
    }
    assert!(!list.text.contains("argon2"));

    // Revocation is effective at once.
    let r = env
        .admin("DELETE", &format!("/admin/app-passwords/{pub_id}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = as_app(
        &env,
        "community-platform",
        &publish,
        "POST",
        "/admin/events",
        Some(event),
    )
    .await;
    assert_wp(&r, 401, "rest_forbidden");
    let r = env
        .admin("DELETE", &format!("/admin/app-passwords/{pub_id}"), None)
        .await;
    assert_wp(&r, 404, "not_found");
    // The name is free again.
    create_app_password(&env, "community-platform", "publish").await;
}

#[tokio::test]
async fn application_password_input_is_validated_and_names_are_unique() {
    let env = TestEnv::new().await;
    for (body, field) in [
        (json!({"scope": "read"}), "name"),
        (json!({"name": "", "scope": "read"}), "name"),
        (json!({"name": "a:b", "scope": "read"}), "name"),
        (json!({"name": "admin", "scope": "read"}), "name"),
        (json!({"name": 5, "scope": "read"}), "name"),
        (json!({"name": "x".repeat(61), "scope": "read"}), "name"),
        (json!({"name": "ok"}), "scope"),
        (json!({"name": "ok", "scope": "owner"}), "scope"),
        (json!({"name": "ok", "scope": ["read"]}), "scope"),
    ] {
        let r = env
            .admin("POST", "/admin/app-passwords", Some(body.clone()))
            .await;
        assert_wp(&r, 400, "invalid_param");
        assert!(
            r.body["message"].as_str().unwrap().contains(field),
            "{body}: {}",
            r.text
        );
    }
    create_app_password(&env, "Platform", "publish").await;
    let r = env
        .admin(
            "POST",
            "/admin/app-passwords",
            Some(json!({"name": "platform", "scope": "read"})),
        )
        .await;
    assert_wp(&r, 409, "conflict");
    // Concurrent creations of one name: exactly one wins.
    let results = futures::future::join_all((0..6).map(|_| {
        env.admin(
            "POST",
            "/admin/app-passwords",
            Some(json!({"name": "racer", "scope": "read"})),
        )
    }))
    .await;
    let won = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        won,
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(results.iter().all(|r| r.status == 201 || r.status == 409));
    assert_eq!(total(&env, "/admin/app-passwords").await, 2);
}

// --- secrets stay out of Debug ----------------------------------------------------------------

#[tokio::test]
async fn types_holding_secrets_redact_them_in_debug() {
    let env = TestEnv::with(|c| {
        c.admin_password = Some("operator-s3cret".into());
    })
    .await;
    let text = format!("{:?}", env.app);
    assert!(
        !text.contains("operator-s3cret") && !text.contains("aGFzaA"),
        "{text}"
    );
    let mut hashed = env.app.config().clone();
    hashed.admin_password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    let text = format!("{hashed:?}");
    assert!(!text.contains("aGFzaA"), "{text}");
    let auth = basic("admin", "operator-s3cret");
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let body = json!({"name": "n", "url": "http://127.0.0.1:9/x", "events": ["*"], "secret": "whsec-super-secret-1"});
    let r = env
        .admin_raw("POST", "/admin/webhooks", &h, &body.to_string(), IP)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let ep = env
        .app
        .outgoing()
        .get(r.body["id"].as_i64().unwrap())
        .await
        .unwrap();
    let text = format!("{ep:?}");
    assert!(
        text.contains("127.0.0.1") && !text.contains("whsec-super-secret-1"),
        "{text}"
    );
    let r = env
        .admin_raw(
            "POST",
            "/admin/incoming-webhooks",
            &h,
            r#"{"title":"T","signing_secret":"incoming-secret-123456"}"#,
            IP,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let key = r.body["key"].as_str().unwrap().to_string();
    let w = env
        .app
        .store_for_tests()
        .incoming
        .get(r.body["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    let text = format!("{w:?}");
    assert!(
        !text.contains("incoming-secret-123456") && !text.contains(&key),
        "{text}"
    );
}
