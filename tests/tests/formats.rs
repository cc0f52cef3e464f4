//! Destination formats (docs/reference/formats.md) against moto and real HTTP receivers on
//! loopback: what Slack, Discord and Google Chat require of a message, template bodies, their
//! save-time checks, the preview, and the format chosen from a chat webhook URL.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{json, Value};
use switchboard::domain::secret;
use switchboard::resolver::StaticLookup;
use switchboard_tests::fixtures::{endpoint, header, receiver};
use switchboard_tests::TestEnv;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Both signature families verify over the raw body received.
fn assert_signed(req: &wiremock::Request, secret: &str, event: &str) {
    let sig = format!(
        "sha256={}",
        secret::hmac_sha256_hex(secret.as_bytes(), &req.body)
    );
    assert_eq!(header(req, "x-fluent-signature"), sig);
    assert_eq!(header(req, "x-fluentcrm-signature"), sig);
    assert_eq!(header(req, "x-fluentcrm-event"), event);
    assert!(!header(req, "x-fluentcrm-delivery").is_empty());
    assert_eq!(
        header(req, "webhook-id"),
        header(req, "x-fluentcrm-delivery")
    );
    assert!(secret::standard_webhooks_verify(
        secret,
        header(req, "webhook-id"),
        header(req, "webhook-timestamp"),
        header(req, "webhook-signature"),
        &req.body,
        now()
    ));
}

const HOSTILE_NAME: &str =
    "@everyone <!channel> <script>alert(1)</script> <@123> [x](https://evil.example)";

#[tokio::test]
async fn chat_formats_get_messages_with_member_markup_escaped() {
    let env = TestEnv::new().await;
    let (slack, discord, gchat, long) = (
        receiver(200).await,
        receiver(200).await,
        receiver(200).await,
        receiver(200).await,
    );
    let mut secrets = Vec::new();
    for (rx, format, extra) in [
        (&slack, "slack", json!({})),
        (&discord, "discord", json!({})),
        (&gchat, "google_chat", json!({})),
        (
            &long,
            "discord",
            json!({"message_template": "{{ message }} {{ data.message }}"}),
        ),
    ] {
        let mut extra = extra;
        extra["format"] = json!(format);
        let ep = endpoint(
            &env,
            &format!("{}/hook", rx.uri()),
            json!(["feed.created"]),
            extra,
        )
        .await;
        assert_eq!(ep["format"], format);
        assert_eq!(ep["content_type"], "application/json");
        secrets.push(ep["secret"].as_str().unwrap().to_string());
    }
    env.publish(json!({
        "event": "feed.created",
        "data": {"id": 1, "title": "<script>x</script> @here <!here>", "space_id": 3, "message": "ä".repeat(5000)},
        "xprofile": {"user_id": 9, "display_name": HOSTILE_NAME},
    }))
    .await;
    env.pump().await;

    for (i, (rx, key)) in [
        (&slack, "text"),
        (&discord, "content"),
        (&gchat, "text"),
        (&long, "content"),
    ]
    .into_iter()
    .enumerate()
    {
        let got = rx.received_requests().await.unwrap();
        assert_eq!(got.len(), 1);
        let req = &got[0];
        assert_eq!(header(req, "content-type"), "application/json");
        assert_signed(req, &secrets[i], "feed.created");
        let v: Value = serde_json::from_slice(&req.body).unwrap();
        let text = v[key].as_str().unwrap_or_default();
        assert!(!text.trim().is_empty(), "{key} is empty: {v}");
        for bad in [
            "@everyone",
            "@here",
            "<!channel>",
            "<!here>",
            "<script>",
            "<@123>",
        ] {
            assert!(!text.contains(bad), "{bad} arrived unescaped: {text}");
        }
        if key == "content" {
            assert!(!text.contains("[x](https://evil"), "a masked link: {text}");
            assert!(
                text.chars().count() <= 2000,
                "{} chars",
                text.chars().count()
            );
            assert!(text.encode_utf16().count() <= 2000);
            assert_eq!(v["allowed_mentions"], json!({"parse": []}));
        }
    }
    let slack_text =
        serde_json::from_slice::<Value>(&slack.received_requests().await.unwrap()[0].body).unwrap()
            ["text"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(slack_text.contains("&lt;!channel&gt;"), "{slack_text}");
    assert!(slack_text.contains("posted in space #3"), "{slack_text}");
    let long_text =
        serde_json::from_slice::<Value>(&long.received_requests().await.unwrap()[0].body).unwrap()
            ["content"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(long_text.ends_with('…'), "cut at the limit");
}

#[tokio::test]
async fn template_endpoints_receive_exactly_the_rendered_body_signed() {
    let env = TestEnv::new().await;
    let (json_rx, text_rx) = (receiver(200).await, receiver(200).await);
    let template = r#"{"personalizations":[{"to":[{"email":"ops@example.com"}]}],"subject":"New post by {{ xprofile.display_name }}: {{ data.title }}","id":{{ data.id }},"tags":{{ data.tags|tojson }}}"#;
    let ep = endpoint(
        &env,
        &json_rx.uri(),
        json!(["feed.created"]),
        json!({"format": "template", "template": template, "headers": {"Authorization": "Bearer SG.key"}}),
    )
    .await;
    assert_eq!(ep["format"], "template");
    assert_eq!(ep["template"], template);
    assert_eq!(ep["content_type"], "application/json");
    let plain = endpoint(
        &env,
        &text_rx.uri(),
        json!(["feed.*"]),
        json!({"format": "template", "content_type": "text/plain; charset=utf-8", "template": "{{ xprofile.display_name }} posted {{ data.title }} ({{ event }})"}),
    )
    .await;
    assert_eq!(plain["content_type"], "text/plain; charset=utf-8");
    env.publish(json!({
        "event": "feed.created",
        "data": {"id": 42, "title": "Say \"hi\" <b>", "tags": ["a", "b"]},
        "xprofile": {"display_name": "Jane \"JD\" Doe"},
    }))
    .await;
    env.pump().await;

    let req = &json_rx.received_requests().await.unwrap()[0];
    let expected = r#"{"personalizations":[{"to":[{"email":"ops@example.com"}]}],"subject":"New post by Jane \"JD\" Doe: Say \"hi\" <b>","id":42,"tags":["a", "b"]}"#;
    assert_eq!(std::str::from_utf8(&req.body).unwrap(), expected);
    assert_eq!(header(req, "content-type"), "application/json");
    assert_eq!(header(req, "authorization"), "Bearer SG.key");
    assert_signed(req, ep["secret"].as_str().unwrap(), "feed.created");
    let req = &text_rx.received_requests().await.unwrap()[0];
    assert_eq!(
        std::str::from_utf8(&req.body).unwrap(),
        "Jane \"JD\" Doe posted Say \"hi\" <b> (feed.created)"
    );
    assert_eq!(header(req, "content-type"), "text/plain; charset=utf-8");
    assert_signed(req, plain["secret"].as_str().unwrap(), "feed.created");

    // The delivery log shows the body actually sent; test and redeliver use the format too.
    let pid = plain["id"].as_i64().unwrap();
    let log = env
        .admin("GET", &format!("/admin/webhooks/{pid}/deliveries"), None)
        .await;
    let did = log.body["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let detail = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{pid}/deliveries/{did}"),
            None,
        )
        .await;
    assert_eq!(
        detail.body["payload"],
        "Jane \"JD\" Doe posted Say \"hi\" <b> (feed.created)"
    );
    assert_eq!(detail.body["content_type"], "text/plain; charset=utf-8");
    let t = env
        .admin("POST", &format!("/admin/webhooks/{pid}/test"), None)
        .await;
    assert_eq!(t.body["success"], true, "{}", t.text);
    let again = env
        .admin(
            "POST",
            &format!("/admin/webhooks/{pid}/deliveries/{did}/redeliver"),
            None,
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    let got = text_rx.received_requests().await.unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(
        std::str::from_utf8(&got[1].body).unwrap(),
        " posted  (webhook.test)"
    );
    assert_eq!(got[2].body, got[0].body, "the same body is redelivered");
    assert_eq!(header(&got[2], "content-type"), "text/plain; charset=utf-8");
}

#[tokio::test]
async fn bad_templates_are_refused_on_save_naming_the_field() {
    let env = TestEnv::new().await;
    let url = "https://hooks.example.com/in";
    let refused = |r: &switchboard_tests::Resp, field: &str| {
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["code"], "invalid_param", "{}", r.text);
        let m = r.body["message"].as_str().unwrap_or_default();
        assert!(m.contains(&format!(": {field}: ")), "{m}");
    };
    for (extra, field) in [
        (json!({"format": "template"}), "template"),
        (
            json!({"format": "template", "template": "{\"a\": {{ data.title }}}"}),
            "template",
        ),
        (
            json!({"format": "template", "template": "{% if %}"}),
            "template",
        ),
        (
            json!({"format": "template", "template": "{{ data.title }}"}),
            "template",
        ),
        (
            json!({"format": "template", "template": "{}", "content_type": "nope"}),
            "content_type",
        ),
        (
            json!({"format": "slack", "message_template": "{{ broken("}),
            "message_template",
        ),
        (json!({"format": "teams"}), "format"),
    ] {
        let mut body = json!({"name": "x", "url": url, "events": ["feed.created"]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        refused(
            &env.admin("POST", "/admin/webhooks", Some(body)).await,
            field,
        );
    }
    // Partial updates are checked against the result.
    let ep = endpoint(&env, url, json!(["feed.created"]), json!({})).await;
    assert_eq!(ep["format"], "standard");
    let id = ep["id"].as_i64().unwrap();
    refused(
        &env.admin(
            "PUT",
            &format!("/admin/webhooks/{id}"),
            Some(json!({"format": "template"})),
        )
        .await,
        "template",
    );
    let ok = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{id}"),
            Some(json!({"format": "template", "template": "{\"t\": \"{{ data.title }}\"}"})),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["format"], "template");
    let slack = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{id}"),
            Some(json!({"format": "slack"})),
        )
        .await;
    assert_eq!(slack.body["format"], "slack");
    assert_eq!(
        env.admin("GET", &format!("/admin/webhooks/{id}"), None)
            .await
            .body["format"],
        "slack"
    );
}

#[tokio::test]
async fn a_template_that_fails_for_an_event_fails_the_delivery_and_redelivers_once_fixed() {
    let env = TestEnv::new().await;
    let rx = receiver(200).await;
    let ep = endpoint(
        &env,
        &rx.uri(),
        json!(["feed.created"]),
        json!({"format": "template", "template": "{\"id\": {{ data.id }}}", "retry_count": 3}),
    )
    .await;
    let id = ep["id"].as_i64().unwrap();
    env.publish(json!({"event": "feed.created", "data": {"id": "abc"}}))
        .await;
    env.pump().await;
    assert!(
        rx.received_requests().await.unwrap().is_empty(),
        "nothing sent"
    );
    let log = env
        .admin("GET", &format!("/admin/webhooks/{id}/deliveries"), None)
        .await;
    let row = &log.body["deliveries"][0];
    assert_eq!(row["status"], "failed", "{}", log.text);
    let did = row["id"].as_str().unwrap().to_string();
    let detail = env
        .admin(
            "GET",
            &format!("/admin/webhooks/{id}/deliveries/{did}"),
            None,
        )
        .await;
    let error = detail.body["attempts"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains("template") && error.contains("JSON"),
        "{error}"
    );
    let after = env
        .admin("GET", &format!("/admin/webhooks/{id}"), None)
        .await;
    assert!(after.body["last_error"]
        .as_str()
        .unwrap_or_default()
        .contains("template"));
    assert_eq!(after.body["consecutive_failures"], 1);
    assert!(env.queued().await.is_empty(), "no retry is scheduled");

    let fixed = env
        .admin(
            "PUT",
            &format!("/admin/webhooks/{id}"),
            Some(json!({"template": "{\"id\": {{ data.id|tojson }}}"})),
        )
        .await;
    assert_eq!(fixed.status, 200, "{}", fixed.text);
    let again = env
        .admin(
            "POST",
            &format!("/admin/webhooks/{id}/deliveries/{did}/redeliver"),
            None,
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["status"], "success", "{}", again.text);
    let got = rx.received_requests().await.unwrap();
    assert_eq!(
        std::str::from_utf8(&got[0].body).unwrap(),
        "{\"id\": \"abc\"}"
    );
    assert_eq!(again.body["payload"], "{\"id\": \"abc\"}");
}

#[tokio::test]
async fn preview_renders_a_sample_without_sending_or_writing() {
    let env = TestEnv::new().await;
    let before = env.all_items().await.len();
    let r = env
        .admin(
            "POST",
            "/admin/webhooks/preview",
            Some(json!({"format": "slack", "event": "feed.created"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["format"], "slack");
    assert_eq!(r.body["content_type"], "application/json");
    let body: Value = serde_json::from_str(r.body["body"].as_str().unwrap()).unwrap();
    assert!(
        body["text"].as_str().unwrap().contains("Jane Doe"),
        "{body}"
    );

    let d = env
        .admin(
            "POST",
            "/wp-json/fluent-community/v2/admin/webhooks/preview",
            Some(json!({"url": "https://discord.com/api/webhooks/1/x", "event": "space.member_joined"})),
        )
        .await;
    assert_eq!(d.body["format"], "discord", "{}", d.text);
    let t = env
        .admin(
            "POST",
            "/admin/webhooks/preview",
            Some(json!({"format": "template", "template": "{\"to\": {{ xprofile.display_name|tojson }}}", "event": "space.member_joined"})),
        )
        .await;
    assert_eq!(t.body["body"], "{\"to\": \"Jane Doe\"}", "{}", t.text);
    let std = env
        .admin(
            "POST",
            "/admin/webhooks/preview",
            Some(json!({"event": "webhook.test"})),
        )
        .await;
    let v: Value = serde_json::from_str(std.body["body"].as_str().unwrap()).unwrap();
    assert_eq!(v["event"], "webhook.test");
    let bad = env
        .admin(
            "POST",
            "/admin/webhooks/preview",
            Some(json!({"format": "template", "template": "{{ x }}", "event": "feed.created"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body["message"].as_str().unwrap().contains("template"));
    let unknown = env
        .admin(
            "POST",
            "/admin/webhooks/preview",
            Some(json!({"event": "nope.x"})),
        )
        .await;
    assert_eq!(unknown.body["code"], "invalid_webhook_event");
    assert_eq!(env.all_items().await.len(), before, "nothing written");
}

#[tokio::test]
async fn chat_webhook_urls_choose_their_format_when_none_is_given() {
    // Deployed mode: the save-time check resolves the host; this machine has no outside DNS,
    // so the resolver answers for the chat services (and for a host that points inside).
    let public: IpAddr = "34.192.0.10".parse().unwrap();
    let private: IpAddr = "10.0.0.7".parse().unwrap();
    let resolver = StaticLookup::default()
        .with("hooks.slack.com", &[public])
        .with("discord.com", &[public])
        .with("chat.googleapis.com", &[public])
        .with("api.sendgrid.com", &[public])
        .with("inside.example", &[private]);
    let env = TestEnv::with_app(
        |c| {
            c.local_mode = false;
            c.admin_password = Some("admin".into());
        },
        |app| app.with_resolver(Arc::new(resolver)),
    )
    .await;
    for (url, events, want) in [
        (
            "https://hooks.slack.com/services/YOUR/WEBHOOK/URL",
            json!(["feed.created", "comment.created", "space.member_joined"]),
            "slack",
        ),
        (
            "https://discord.com/api/webhooks/YOUR/WEBHOOK/URL",
            json!(["feed.created", "report.created"]),
            "discord",
        ),
        (
            "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t",
            json!(["*"]),
            "google_chat",
        ),
        (
            "https://api.sendgrid.com/v3/mail/send",
            json!(["report.created"]),
            "standard",
        ),
    ] {
        // The seed's own request (003 "Common Use Cases"), unchanged.
        let r = env
            .admin(
                "POST",
                "/wp-json/fluent-community/v2/admin/webhooks",
                Some(json!({"name": "Notifications", "url": url, "events": events, "status": "active"})),
            )
            .await;
        assert_eq!(r.status, 201, "{url}: {}", r.text);
        assert_eq!(r.body["format"], want, "{url}");
        let id = r.body["id"].as_i64().unwrap();
        let stored = env
            .admin("GET", &format!("/admin/webhooks/{id}"), None)
            .await;
        assert_eq!(stored.body["format"], want);
    }
    let explicit = env
        .admin(
            "POST",
            "/admin/webhooks",
            Some(json!({"name": "raw", "url": "https://hooks.slack.com/services/x", "events": ["*"], "format": "standard"})),
        )
        .await;
    assert_eq!(explicit.body["format"], "standard");
    let inside = env
        .admin(
            "POST",
            "/admin/webhooks",
            Some(json!({"name": "x", "url": "https://inside.example/hook", "events": ["*"]})),
        )
        .await;
    assert_eq!(
        inside.status, 400,
        "the stubbed resolver is the one consulted: {}",
        inside.text
    );
    assert_eq!(inside.body["code"], "invalid_url");
}
