//! Provider sources against moto (docs/reference/providers.md), with the shared fixtures
//! (`tests/fixtures/providers`, a copy of the product fixtures).

use serde_json::{json, Value};
use switchboard::domain::incoming::providers::{sign, Source};
use switchboard_tests::{enc, Resp, TestEnv};

fn fixture(path: &str) -> Value {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/providers");
    let raw = std::fs::read(base.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&raw).unwrap()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn unique(tag: &str) -> String {
    format!(
        "{tag}-{}",
        switchboard::domain::time::new_ulid()
            .to_string()
            .to_lowercase()
    )
}

/// A signed provider call; `tweak` may change the headers after signing.
struct Post<'a> {
    source: Source,
    secret: &'a str,
    body: Vec<u8>,
    topic: &'a str,
    id: String,
    at: i64,
}

impl Post<'_> {
    fn headers(&self) -> Vec<(String, String)> {
        let mut h = sign(
            self.source,
            self.secret,
            &self.body,
            self.at,
            self.topic,
            &self.id,
        );
        let ct = if self.source == Source::Gumroad {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        h.push(("content-type".into(), ct.into()));
        h
    }
}

async fn send(env: &TestEnv, key: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Resp {
    let h = headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    env.incoming("POST", &format!("/webhook/{key}"), h, body)
        .await
}

async fn post(env: &TestEnv, key: &str, p: &Post<'_>) -> Resp {
    send(env, key, p.headers(), p.body.clone()).await
}

/// The member's spaces (ids), or `None` when there is no such member.
async fn spaces_of(env: &TestEnv, email: &str) -> Option<Vec<i64>> {
    let r = env
        .admin("GET", &format!("/admin/users?email={}", enc(email)), None)
        .await;
    let user = r.body["users"].get(0)?.clone();
    Some(
        user["spaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["space_id"].as_i64().unwrap())
            .collect(),
    )
}

async fn provider_webhook(
    env: &TestEnv,
    source: &str,
    secret: &str,
    extra: Value,
) -> (i64, String) {
    let mut body = json!({"title": source, "source": source, "source_secret": secret});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    env.webhook(body).await
}

fn stripe_event(kind: &str, object: Value, at: i64) -> Vec<u8> {
    json!({"id": unique("evt"), "object": "event", "type": kind, "created": at,
        "data": {"object": object}})
    .to_string()
    .into_bytes()
}

fn checkout(email: &str, customer: &str, sub: &str, pi: &str, meta: Value) -> Value {
    let mut o = fixture("stripe/object-checkout.session.json");
    o["id"] = json!(unique("cs"));
    o["payment_status"] = json!("paid");
    o["status"] = json!("complete");
    o["customer"] = json!(customer);
    o["subscription"] = json!(sub);
    o["payment_intent"] = json!(pi);
    o["metadata"] = meta;
    o["customer_details"]["email"] = json!(email);
    o["customer_details"]["name"] = json!("Ada King Lovelace");
    o
}

#[tokio::test]
async fn stripe_signatures_grant_replay_identity_and_revoke() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "Premium").await;
    let secret = "whsec_stripe_test_secret";
    let (wid, key) = provider_webhook(&env, "stripe", secret, json!({"space_ids": [space]})).await;
    let shown = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}"), None)
        .await;
    assert_eq!(shown.body["source"], "stripe");
    assert_eq!(shown.body["source_secret_set"], true);
    assert!(!shown.text.contains(secret));
    assert_eq!(
        shown.body["rules"][0]["event"],
        "checkout.session.completed"
    );

    let email = format!("{}@example.com", unique("ada"));
    let (cus, sub) = (unique("cus"), unique("sub"));
    let t = now();
    let body = stripe_event(
        "checkout.session.completed",
        checkout(&email, &cus, &sub, &unique("pi"), json!({})),
        t,
    );
    let stripe = |body: Vec<u8>, at: i64| Post {
        source: Source::Stripe,
        secret,
        body,
        topic: "",
        id: String::new(),
        at,
    };
    let p = stripe(body, t);

    // Refused calls touch nothing.
    let mut tampered = p.body.clone();
    let i = tampered.len() - 3;
    tampered[i] = b' ';
    assert_eq!(send(&env, &key, p.headers(), tampered).await.status, 403);
    let wrong = stripe(p.body.clone(), t);
    let wrong = Post {
        secret: "whsec_wrong",
        ..wrong
    };
    assert_eq!(post(&env, &key, &wrong).await.status, 403);
    let missing: Vec<_> = p
        .headers()
        .into_iter()
        .filter(|(k, _)| k != "stripe-signature")
        .collect();
    assert_eq!(send(&env, &key, missing, p.body.clone()).await.status, 403);
    let stale = stripe(p.body.clone(), t - 301);
    let r = post(&env, &key, &stale).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(spaces_of(&env, &email).await, None);

    // The purchase adds the member (name split), a replay does nothing more.
    let r = post(&env, &key, &p).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["outcome"], "granted");
    assert_eq!(r.body["created"], true);
    assert_eq!(r.body["spaces"]["added"], json!([space]));
    let user_id = r.body["user_id"].as_i64().unwrap();
    let again = post(&env, &key, &p).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, r.body);
    assert_eq!(spaces_of(&env, &email).await, Some(vec![space]));
    let u = env
        .admin("GET", &format!("/admin/users/{user_id}"), None)
        .await;
    assert_eq!(u.body["first_name"], "Ada");
    assert_eq!(u.body["last_name"], "King Lovelace");
    let grant = &u.body["spaces"][0]["grants"][0];
    assert_eq!(grant["by"], "incoming_webhook");
    assert_eq!(grant["incoming_webhook_id"], wid);
    assert!(grant["objects"].to_string().contains(&sub));
    let w = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}"), None)
        .await;
    assert_eq!(w.body["running_count"], 1, "the replay did no work");

    // An event the rules ignore answers 200 and is logged as ignored.
    let mut o = fixture("stripe/object-subscription.json");
    o["id"] = json!(sub);
    o["customer"] = json!(cus);
    let upd = stripe_event("customer.subscription.updated", o.clone(), t + 1);
    let r = post(&env, &key, &stripe(upd, t + 1)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["outcome"], "ignored");
    assert!(r.body["reason"]
        .as_str()
        .unwrap()
        .contains("customer.subscription.updated"));

    // The subscription's end carries only the customer id: the member it resolves to leaves.
    let del = stripe_event("customer.subscription.deleted", o, t + 2);
    let r = post(&env, &key, &stripe(del, t + 2)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["outcome"], "revoked");
    assert_eq!(r.body["spaces"]["removed"], json!([space]));
    assert_eq!(spaces_of(&env, &email).await, Some(vec![]));
    let runs = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}/runs"), None)
        .await;
    let outcomes: Vec<&str> = runs.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"ignored") && outcomes.contains(&"success"),
        "{outcomes:?}"
    );
    let left = env
        .queued()
        .await
        .iter()
        .any(|b| b.to_string().contains("space.member_left"));
    assert!(left, "the revoke emitted space.member_left");

    // A customer never seen: unresolved, 200, logged.
    let mut o = fixture("stripe/object-subscription.json");
    o["customer"] = json!(unique("cus"));
    let del = stripe_event("customer.subscription.deleted", o, t + 3);
    let r = post(&env, &key, &stripe(del, t + 3)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["outcome"], "unresolved");
    assert!(r.body["reason"].as_str().unwrap().contains("never seen"));
}

#[tokio::test]
async fn products_provenance_and_other_grants() {
    let env = TestEnv::new().await;
    let (s1, s2) = (env.make("spaces", "A").await, env.make("spaces", "B").await);
    let secret = "whsec_products";
    let products = json!([{"match": "price_A", "space_ids": [s1]}, {"match": "price_B", "space_ids": [s1, s2]}]);
    let (_, key) = provider_webhook(&env, "stripe", secret, json!({"products": products})).await;
    let email = format!("{}@example.com", unique("buyer"));
    let cus = unique("cus");
    let t = now();
    let buy = |meta: Value, pi: &str, at: i64| {
        stripe_event(
            "checkout.session.completed",
            checkout(&email, &cus, &unique("sub"), pi, meta),
            at,
        )
    };
    let p = |body: Vec<u8>, at: i64| Post {
        source: Source::Stripe,
        secret,
        body,
        topic: "",
        id: String::new(),
        at,
    };

    // An unmapped product is ignored; each purchase grants only its product's spaces.
    let r = post(
        &env,
        &key,
        &p(buy(json!({"product": "price_Z"}), &unique("pi"), t), t),
    )
    .await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    assert_eq!(spaces_of(&env, &email).await, None);
    let (pi_a, pi_b) = (unique("pi"), unique("pi"));
    let r = post(
        &env,
        &key,
        &p(buy(json!({"product": "price_A"}), &pi_a, t), t),
    )
    .await;
    assert_eq!(r.body["spaces"]["added"], json!([s1]), "{}", r.text);
    let r = post(
        &env,
        &key,
        &p(buy(json!({"product": "price_B"}), &pi_b, t + 1), t + 1),
    )
    .await;
    assert_eq!(r.body["spaces"]["added"], json!([s2]), "{}", r.text);

    // Another webhook (a form) also grants space B.
    let (_, form_key) = env
        .webhook(json!({"title": "Form", "space_ids": [s2]}))
        .await;
    assert_eq!(
        env.post_form(&form_key, &[("email", &email)]).await.status,
        200
    );

    // Refunding purchase B: space A stays (purchase A), B stays (the form's grant).
    let mut charge = fixture("stripe/object-charge.json");
    charge["payment_intent"] = json!(pi_b);
    charge["customer"] = json!(cus);
    charge["refunded"] = json!(true);
    let r = post(
        &env,
        &key,
        &p(
            stripe_event("charge.refunded", charge.clone(), t + 5),
            t + 5,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["spaces"]["removed"], json!([]));
    let mut have = spaces_of(&env, &email).await.unwrap();
    have.sort();
    assert_eq!(have, vec![s1, s2]);
    // Refunding purchase A: space A goes, B still held by the form.
    charge["payment_intent"] = json!(pi_a);
    let r = post(
        &env,
        &key,
        &p(stripe_event("charge.refunded", charge, t + 6), t + 6),
    )
    .await;
    assert_eq!(r.body["spaces"]["removed"], json!([s1]), "{}", r.text);
    assert_eq!(spaces_of(&env, &email).await, Some(vec![s2]));
    // A late "paid" for the refunded purchase A changes nothing.
    let late = checkout(
        &email,
        &cus,
        &unique("sub"),
        &pi_a,
        json!({"product": "price_A"}),
    );
    let r = post(
        &env,
        &key,
        &p(
            stripe_event("checkout.session.completed", late, t + 2),
            t + 2,
        ),
    )
    .await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    assert!(r.body["reason"].as_str().unwrap().contains("newer"));
    assert_eq!(spaces_of(&env, &email).await, Some(vec![s2]));
}

/// One preset's calls: a purchase, the end of access and an event its rules ignore.
struct Preset {
    source: Source,
    name: &'static str,
    secret: &'static str,
    grant: (Vec<u8>, &'static str),
    revoke: Option<(Vec<u8>, &'static str)>,
    ignored: (Vec<u8>, &'static str),
    extra: Value,
}

fn woo(status: &str, email: &str, modified: &str) -> Vec<u8> {
    let mut o = fixture("woocommerce/order-v3-retrieve-example.json");
    o["status"] = json!(status);
    o["billing"]["email"] = json!(email);
    o["date_modified_gmt"] = json!(modified);
    o.to_string().into_bytes()
}

fn lemon(event: &str, email: &str, order: &str, status: &str) -> Vec<u8> {
    json!({"meta": {"event_name": event}, "data": {"type": "orders", "id": order, "attributes": {
        "customer_id": 9, "user_name": "Lee Lemon", "user_email": email, "status": status,
        "refunded": status == "refunded", "first_order_item": {"order_id": order, "product_id": 1, "variant_id": 2},
        "updated_at": jiff::Timestamp::now().to_string()}}})
    .to_string()
    .into_bytes()
}

fn presets(email: &str) -> Vec<Preset> {
    let shop_order = |email: &str| {
        let mut o = fixture("shopify/order-object-as-webhook-body.json");
        o["email"] = json!(email);
        o.to_string().into_bytes()
    };
    let order = unique("o");
    let paddle = |kind: &str, entity: &str| {
        json!({"event_id": unique("evt"), "event_type": kind, "occurred_at": jiff::Timestamp::now().to_string(),
            "notification_id": "ntf", "data": fixture(entity)}).to_string().into_bytes()
    };
    let mut typeform = fixture("typeform/form_response-official-example.json");
    for a in typeform["form_response"]["answers"].as_array_mut().unwrap() {
        if a["type"] == "email" {
            a["email"] = json!(email);
        }
    }
    let sale = |kind: &str| {
        format!(
            "resource_name={kind}&sale_id=S-{order}&email={}&full_name=Gus+Grant&product_id=P1",
            enc(email)
        )
        .into_bytes()
    };
    let standard = |kind: &str| {
        json!({"type": kind, "timestamp": "2026-01-01T00:00:00Z", "data": {"id": order, "email": email, "fullName": "Stan Dard"}}).to_string().into_bytes()
    };
    vec![
        Preset { source: Source::Shopify, name: "shopify", secret: "shpss_x", grant: (shop_order(email), "orders/paid"), revoke: Some((shop_order(email), "orders/cancelled")), ignored: (shop_order(email), "orders/updated"), extra: json!({}) },
        Preset { source: Source::Woocommerce, name: "woocommerce", secret: "w&amp;oo", grant: (woo("processing", email, "2026-01-01T10:00:00"), "order.created"), revoke: Some((woo("refunded", email, "2026-01-01T11:00:00"), "order.updated")), ignored: (woo("on-hold", email, "2026-01-01T12:00:00"), "order.updated"), extra: json!({}) },
        Preset { source: Source::Paddle, name: "paddle", secret: "pdl_ntfset_x", grant: (paddle("transaction.completed", "paddle/entity-transaction.completed.json"), ""), revoke: Some((paddle("subscription.canceled", "paddle/entity-subscription.canceled.json"), "")), ignored: (paddle("subscription.past_due", "paddle/entity-subscription.past_due.json"), ""), extra: json!({}) },
        Preset { source: Source::Lemonsqueezy, name: "lemonsqueezy", secret: "lemon-x", grant: (lemon("order_created", email, &order, "paid"), "order_created"), revoke: Some((lemon("order_refunded", email, &order, "refunded"), "order_refunded")), ignored: (lemon("order_created", email, &unique("o2"), "pending"), "order_created"), extra: json!({}) },
        Preset { source: Source::Gumroad, name: "gumroad", secret: "", grant: (sale("sale"), ""), revoke: Some((sale("refund"), "")), ignored: (sale("cancellation"), ""), extra: json!({}) },
        Preset { source: Source::Typeform, name: "typeform", secret: "tf-x", grant: (typeform.to_string().into_bytes(), ""), revoke: None, ignored: (json!({"event_id": unique("e"), "event_type": "form_partial", "form_response": {"form_id": "x"}}).to_string().into_bytes(), ""), extra: json!({}) },
        Preset { source: Source::StandardWebhooks, name: "standard-webhooks", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", grant: (standard("member.added"), ""), revoke: Some((standard("member.removed"), "")), ignored: (standard("contact.created"), ""), extra: json!({"rules": [{"event": "member.added", "action": "grant"}, {"event": "member.removed", "action": "revoke"}]}) },
    ]
}

#[tokio::test]
async fn every_preset_verifies_grants_revokes_replays_and_ignores() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "Members").await;
    for (i, case) in presets("placeholder@example.com").into_iter().enumerate() {
        let email = format!("{}@example.com", unique(case.name));
        let case = presets(&email).into_iter().nth(i).unwrap();
        let mut extra = case.extra.clone();
        extra["space_ids"] = json!([space]);
        let (_, key) = provider_webhook(&env, case.name, case.secret, extra).await;
        let at = now();
        let mk = |(body, topic): &(Vec<u8>, &'static str), secret: &'static str| Post {
            source: case.source,
            secret,
            body: body.clone(),
            topic,
            id: unique("d"),
            at,
        };
        // Paddle's purchase names only a customer id: its customer.created comes first.
        let email = if case.source == Source::Paddle {
            let mut c = fixture("paddle/entity-customer.created.json");
            c["email"] = json!(email);
            let body = json!({"event_id": unique("evt"), "event_type": "customer.created", "occurred_at": jiff::Timestamp::now().to_string(), "data": c}).to_string().into_bytes();
            let r = post(&env, &key, &mk(&(body, ""), case.secret)).await;
            assert_eq!(r.body["outcome"], "ignored", "{}: {}", case.name, r.text);
            email
        } else {
            email
        };
        let grant = mk(&case.grant, case.secret);
        if case.source.signed() {
            let wrong = mk(&case.grant, "wrong-secret-value");
            assert_eq!(
                post(&env, &key, &wrong).await.status,
                403,
                "{}: wrong secret",
                case.name
            );
            let mut tampered = grant.body.clone();
            tampered.push(b' ');
            assert_eq!(
                send(&env, &key, grant.headers(), tampered).await.status,
                403,
                "{}: tampered",
                case.name
            );
            let sig_headers = [
                "stripe-signature",
                "paddle-signature",
                "x-shopify-hmac-sha256",
                "x-wc-webhook-signature",
                "x-signature",
                "typeform-signature",
                "webhook-signature",
            ];
            let missing: Vec<_> = grant
                .headers()
                .into_iter()
                .filter(|(k, _)| !sig_headers.contains(&k.as_str()))
                .collect();
            assert_eq!(
                send(&env, &key, missing, grant.body.clone()).await.status,
                403,
                "{}: missing",
                case.name
            );
            if matches!(case.source, Source::Paddle | Source::StandardWebhooks) {
                let stale = Post {
                    at: at - 400,
                    ..mk(&case.grant, case.secret)
                };
                assert_eq!(
                    post(&env, &key, &stale).await.status,
                    403,
                    "{}: stale",
                    case.name
                );
            }
            assert_eq!(
                spaces_of(&env, &email).await,
                None,
                "{}: refused calls touch nothing",
                case.name
            );
        }
        let r = post(&env, &key, &grant).await;
        assert_eq!(r.status, 200, "{}: {}", case.name, r.text);
        assert_eq!(r.body["outcome"], "granted", "{}: {}", case.name, r.text);
        assert_eq!(
            spaces_of(&env, &email).await,
            Some(vec![space]),
            "{}",
            case.name
        );
        let replay = post(&env, &key, &grant).await;
        assert_eq!(replay.body, r.body, "{}: replay", case.name);
        let r = post(&env, &key, &mk(&case.ignored, case.secret)).await;
        assert_eq!(
            (r.status, r.body["outcome"].as_str()),
            (200, Some("ignored")),
            "{}: {}",
            case.name,
            r.text
        );
        if let Some(revoke) = &case.revoke {
            let r = post(
                &env,
                &key,
                &Post {
                    at: at + 1,
                    ..mk(revoke, case.secret)
                },
            )
            .await;
            assert_eq!(r.body["outcome"], "revoked", "{}: {}", case.name, r.text);
            assert_eq!(spaces_of(&env, &email).await, Some(vec![]), "{}", case.name);
        }
    }
}

#[tokio::test]
async fn out_of_order_events_and_the_woocommerce_ping() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "Shop").await;
    let secret = "woo-secret";
    let (wid, key) =
        provider_webhook(&env, "woocommerce", secret, json!({"space_ids": [space]})).await;
    // The unsigned creation ping: 200, nothing done.
    let r = send(
        &env,
        &key,
        vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        b"webhook_id=12".to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let runs = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}/runs"), None)
        .await;
    assert_eq!(runs.body["pagination"]["total"], 0);

    // Refund (11:00) arrives before the purchase it refunds (10:00): no access.
    let email = format!("{}@example.com", unique("late"));
    let p = |body: Vec<u8>, topic: &'static str| Post {
        source: Source::Woocommerce,
        secret,
        body,
        topic,
        id: String::new(),
        at: now(),
    };
    let r = post(
        &env,
        &key,
        &p(
            woo("refunded", &email, "2026-01-01T11:00:00"),
            "order.updated",
        ),
    )
    .await;
    assert_eq!(r.body["outcome"], "unresolved", "{}", r.text);
    let r = post(
        &env,
        &key,
        &p(
            woo("processing", &email, "2026-01-01T10:00:00"),
            "order.created",
        ),
    )
    .await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    assert_eq!(spaces_of(&env, &email).await, None);

    // Cancelled (12:00), then a late "updated" processing (11:30): still no access.
    let email = format!("{}@example.com", unique("ended"));
    let mut body: Value =
        serde_json::from_slice(&woo("processing", &email, "2026-01-01T09:00:00")).unwrap();
    body["id"] = json!(9001);
    let r = post(
        &env,
        &key,
        &p(body.to_string().into_bytes(), "order.created"),
    )
    .await;
    assert_eq!(r.body["outcome"], "granted", "{}", r.text);
    body["status"] = json!("cancelled");
    body["date_modified_gmt"] = json!("2026-01-01T12:00:00");
    let r = post(
        &env,
        &key,
        &p(body.to_string().into_bytes(), "order.updated"),
    )
    .await;
    assert_eq!(r.body["outcome"], "revoked", "{}", r.text);
    body["status"] = json!("processing");
    body["date_modified_gmt"] = json!("2026-01-01T11:30:00");
    let r = post(
        &env,
        &key,
        &p(body.to_string().into_bytes(), "order.updated"),
    )
    .await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    assert_eq!(spaces_of(&env, &email).await, Some(vec![]));
}

#[tokio::test]
async fn admin_validates_sources_rules_and_products() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    for (body, field) in [
        (json!({"title": "x", "source": "paypal"}), "source"),
        (
            json!({"title": "x", "source": "stripe", "rules": [{"event": "a", "action": "maybe"}]}),
            "rules[0].action",
        ),
        (
            json!({"title": "x", "source": "stripe", "rules": {"a": 1}}),
            "rules",
        ),
        (
            json!({"title": "x", "products": [{"match": "p", "space_ids": [space + 1000]}]}),
            "products",
        ),
        (
            json!({"title": "x", "products": [{"space_ids": [space]}]}),
            "products[0].match",
        ),
        (json!({"title": "x", "source_secret": 5}), "source_secret"),
    ] {
        let r = env
            .admin("POST", "/admin/incoming-webhooks", Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.body["code"], "invalid_param");
        assert!(
            r.body["message"].as_str().unwrap().contains(field),
            "{}",
            r.text
        );
    }
    let big = json!({"title": "x", "source": "shopify", "source_secret": "s",
        "products": [{"match": 820982911946154508u64, "space_ids": [space]}]});
    let r = env
        .admin("POST", "/admin/incoming-webhooks", Some(big))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["products"][0]["match"], "820982911946154508");
    assert_eq!(r.body["source_secret_set"], true);
    assert!(!r.text.contains("\"s\""));
    let id = r.body["id"].as_i64().unwrap();
    let r = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{id}"),
            Some(
                json!({"rules": [{"event": "orders/create", "status": "paid", "action": "grant"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["rules"],
        json!([{"event": "orders/create", "status": "paid", "action": "grant"}])
    );
    let r = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{id}"),
            Some(json!({"rules": null})),
        )
        .await;
    assert_eq!(
        r.body["rules"][0]["event"], "orders/paid",
        "null restores the defaults"
    );
    // A form webhook shows its source.
    let (fid, _) = env.webhook(json!({"title": "f"})).await;
    let r = env
        .admin("GET", &format!("/admin/incoming-webhooks/{fid}"), None)
        .await;
    assert_eq!(r.body["source"], "form");
    assert_eq!(r.body["source_secret_set"], false);
}

/// The expiry index is sharded (`EXPIRING#{0..15}`): grants on several shards all end in one
/// sweep, and so does an entry still on the partition used before sharding (`EXPIRING`).
#[tokio::test]
async fn timed_access_ends_on_every_expiry_shard_and_the_legacy_partition() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let env = TestEnv::new().await;
    let space = env.make("spaces", "Timed").await;
    let secret = "whsec_sharded_expiry_secret";
    let rules = json!([
        {"event": "checkout.session.completed", "status": "paid", "action": "grant", "access": {"days": 30}}
    ]);
    let (_, key) = provider_webhook(
        &env,
        "stripe",
        secret,
        json!({"space_ids": [space], "rules": rules}),
    )
    .await;
    let t = now();
    let members = 12;
    let mut emails = Vec::new();
    for n in 0..members {
        let email = format!("{}-{n}@example.com", unique("shard"));
        let body = stripe_event(
            "checkout.session.completed",
            checkout(
                &email,
                &unique("cus"),
                &unique("sub"),
                &unique("pi"),
                json!({}),
            ),
            t,
        );
        let p = Post {
            source: Source::Stripe,
            secret,
            body,
            topic: "",
            id: String::new(),
            at: t,
        };
        let r = post(&env, &key, &p).await;
        assert_eq!(r.status, 200, "{}", r.text);
        emails.push(email);
    }
    let text = |i: &std::collections::HashMap<String, AttributeValue>, k: &str| {
        i.get(k).and_then(|v| v.as_s().ok()).cloned()
    };
    let indexed: Vec<_> = env
        .all_items()
        .await
        .into_iter()
        .filter(|i| text(i, "gsi2pk").is_some_and(|p| p.starts_with("EXPIRING")))
        .collect();
    assert_eq!(indexed.len(), members);
    let shards: std::collections::BTreeSet<String> =
        indexed.iter().filter_map(|i| text(i, "gsi2pk")).collect();
    assert!(shards.len() >= 3, "{shards:?}");
    assert!(
        shards.iter().all(|s| s.starts_with("EXPIRING#")),
        "{shards:?}"
    );

    // One entry as it was written before sharding.
    let legacy = &indexed[0];
    env.app
        .store_for_tests()
        .table
        .client()
        .0
        .update_item()
        .table_name(&env.stack.table)
        .key("pk", legacy["pk"].clone())
        .key("sk", legacy["sk"].clone())
        .update_expression("SET gsi2pk = :p")
        .expression_attribute_values(":p", AttributeValue::S("EXPIRING".into()))
        .send()
        .await
        .unwrap();

    let days = |d: i64| jiff::Timestamp::from_second(t + d * 86_400).unwrap();
    assert_eq!(
        env.app.members().expire_grants_at(days(29)).await.unwrap(),
        0
    );
    assert_eq!(
        env.app.members().expire_grants_at(days(31)).await.unwrap(),
        members
    );
    for email in &emails {
        assert_eq!(spaces_of(&env, email).await, Some(vec![]), "{email}");
    }
    assert_eq!(
        env.app.members().expire_grants_at(days(32)).await.unwrap(),
        0
    );
}

/// Timed access (issue 10): a grant rule with `access` gives the grant an end; the sweeper's
/// expiry pass (run here with the clock moved forward) removes what ended, keeps what a renewal
/// extended, and emits the usual events.
#[tokio::test]
async fn timed_access_ends_by_the_sweeper_and_renewals_extend_it() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "Premium").await;
    let secret = "whsec_timed_access_secret";
    let rules = json!([
        {"event": "checkout.session.completed", "status": "paid", "action": "grant", "access": {"days": 30}},
        {"event": "invoice.paid", "action": "grant", "access": "period_end"},
        {"event": "customer.subscription.deleted", "action": "revoke"}
    ]);
    let (wid, key) = provider_webhook(
        &env,
        "stripe",
        secret,
        json!({"space_ids": [space], "rules": rules}),
    )
    .await;
    let shown = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}"), None)
        .await;
    assert_eq!(shown.body["rules"][0]["access"], json!({"days": 30}));
    assert_eq!(shown.body["rules"][1]["access"], "period_end");

    let email = format!("{}@example.com", unique("timed"));
    let (cus, sub) = (unique("cus"), unique("sub"));
    let t = now();
    let stripe = |body: Vec<u8>| Post {
        source: Source::Stripe,
        secret,
        body,
        topic: "",
        id: String::new(),
        at: t,
    };
    let body = stripe_event(
        "checkout.session.completed",
        checkout(&email, &cus, &sub, &unique("pi"), json!({})),
        t,
    );
    let r = post(&env, &key, &stripe(body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(spaces_of(&env, &email).await, Some(vec![space]));
    let user = env
        .admin("GET", &format!("/admin/users?email={}", enc(&email)), None)
        .await;
    let ends = user.body["users"][0]["spaces"][0]["grants"][0]["expires_at"]
        .as_str()
        .unwrap()
        .to_string();
    let days = |d: i64| jiff::Timestamp::from_second(t + d * 86_400).unwrap();
    assert_eq!(ends, switchboard::domain::time::rfc3339(days(30)));

    // Not yet.
    assert_eq!(
        env.app.members().expire_grants_at(days(29)).await.unwrap(),
        0
    );
    assert_eq!(spaces_of(&env, &email).await, Some(vec![space]));

    // A renewal invoice paid through day 60 adds a grant that outlives the first.
    let invoice = json!({"object": "invoice", "id": unique("in"), "customer": cus,
        "subscription": sub, "customer_email": email, "status": "paid",
        "lines": {"object": "list", "data": [{"period": {"start": t, "end": t + 60 * 86_400}}]}});
    let r = post(
        &env,
        &key,
        &stripe(stripe_event("invoice.paid", invoice, t + 1)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Day 31: the first grant ended, the renewal holds the space.
    assert_eq!(
        env.app.members().expire_grants_at(days(31)).await.unwrap(),
        0
    );
    assert_eq!(spaces_of(&env, &email).await, Some(vec![space]));
    let user = env
        .admin("GET", &format!("/admin/users?email={}", enc(&email)), None)
        .await;
    assert_eq!(
        user.body["users"][0]["spaces"][0]["grants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Day 61: everything ended; the member leaves the space and the event says why.
    env.queued().await; // earlier batches out of the way
    assert_eq!(
        env.app.members().expire_grants_at(days(61)).await.unwrap(),
        1
    );
    assert_eq!(spaces_of(&env, &email).await, Some(vec![]));
    let left: Vec<Value> = env
        .queued()
        .await
        .into_iter()
        .flat_map(|b| b["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["event"] == "space.member_left")
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["data"]["space_id"], space);
    assert_eq!(left[0]["data"]["reason"], "expired");
    // Nothing left to expire.
    assert_eq!(
        env.app.members().expire_grants_at(days(400)).await.unwrap(),
        0
    );

    // Access only on grants, and within bounds.
    for (rule, field) in [
        (
            json!({"event": "refund", "action": "revoke", "access": {"days": 3}}),
            "rules[0].access",
        ),
        (
            json!({"event": "sale", "action": "grant", "access": {"days": 0}}),
            "rules[0].access",
        ),
        (
            json!({"event": "sale", "action": "grant", "access": "forever"}),
            "rules[0].access",
        ),
    ] {
        let r = env
            .admin(
                "PUT",
                &format!("/admin/incoming-webhooks/{wid}"),
                Some(json!({"rules": [rule]})),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.text.contains(field), "{}", r.text);
    }
}

/// "Send sample event": for every provider, the admin API hands out a signed sample purchase
/// that the webhook's real URL verifies and acts on as the provider's own would be.
#[tokio::test]
async fn every_provider_sample_is_signed_and_executes() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "Sampled").await;
    for (source, secret, outcome) in [
        ("stripe", "whsec_sample_secret", "granted"),
        ("shopify", "shpss_sample", "granted"),
        ("woocommerce", "w&amp;sample", "granted"),
        // Paddle transactions carry only a customer id: the sample shows that path.
        ("paddle", "pdl_ntfset_sample", "unresolved"),
        ("lemonsqueezy", "lemon-sample", "granted"),
        ("gumroad", "", "granted"),
        ("typeform", "tf-sample", "granted"),
        // No default rules: ignored until rules are written.
        (
            "standard-webhooks",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "ignored",
        ),
    ] {
        let (wid, key) =
            provider_webhook(&env, source, secret, json!({"space_ids": [space]})).await;
        let s = env
            .admin(
                "POST",
                &format!("/admin/incoming-webhooks/{wid}/sample"),
                None,
            )
            .await;
        assert_eq!(s.status, 200, "{source}: {}", s.text);
        assert!(s.body["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/webhook/{key}")));
        let headers: Vec<(String, String)> = s.body["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let body = s.body["body"].as_str().unwrap().as_bytes().to_vec();
        let r = send(&env, &key, headers.clone(), body.clone()).await;
        assert_eq!(r.status, 200, "{source}: {}", r.text);
        let got = r.body["outcome"]
            .as_str()
            .unwrap_or(if r.body["success"] == true {
                "granted"
            } else {
                ""
            });
        assert_eq!(got, outcome, "{source}: {}", r.text);
        if source != "gumroad" {
            // A tampered sample is refused like a tampered provider call.
            let mut bad = body.clone();
            bad.push(b' ');
            assert_eq!(send(&env, &key, headers, bad).await.status, 403, "{source}");
        }
    }
    // Two samples in the same second are two orders (WooCommerce derives its event id from it).
    let (woo, _) =
        provider_webhook(&env, "woocommerce", "w-two", json!({"space_ids": [space]})).await;
    let order = |s: &Resp| {
        serde_json::from_str::<Value>(s.body["body"].as_str().unwrap()).unwrap()["id"].clone()
    };
    let path = format!("/admin/incoming-webhooks/{woo}/sample");
    let (a, b) = (
        env.admin("POST", &path, None).await,
        env.admin("POST", &path, None).await,
    );
    assert_ne!(order(&a), order(&b));

    // A form webhook has no sample; a signed provider needs its secret first.
    let (form, _) = env.webhook(json!({"title": "Form"})).await;
    let r = env
        .admin(
            "POST",
            &format!("/admin/incoming-webhooks/{form}/sample"),
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let (nosecret, _) = env
        .webhook(json!({"title": "Stripe", "source": "stripe"}))
        .await;
    let r = env
        .admin(
            "POST",
            &format!("/admin/incoming-webhooks/{nosecret}/sample"),
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("source_secret"), "{}", r.text);
}

/// A signed WooCommerce order event from customer `customer` (no email when `email` is `None`).
fn woo_order(order: i64, customer: i64, email: Option<&str>, modified: &str) -> Vec<u8> {
    let mut o: Value =
        serde_json::from_slice(&woo("processing", "x@example.com", modified)).unwrap();
    o["id"] = json!(order);
    o["customer_id"] = json!(customer);
    o["billing"]["email"] = email.map_or(Value::Null, |e| json!(e));
    o.to_string().into_bytes()
}

#[tokio::test]
async fn customer_ids_map_per_webhook_and_the_events_email_wins() {
    let env = TestEnv::new().await;
    let (space_a, space_b) = (
        env.make("spaces", "Store A").await,
        env.make("spaces", "Store B").await,
    );
    let (_, key_a) =
        provider_webhook(&env, "woocommerce", "wa", json!({"space_ids": [space_a]})).await;
    let (_, key_b) =
        provider_webhook(&env, "woocommerce", "wb", json!({"space_ids": [space_b]})).await;
    let order = |secret: &'static str, body: Vec<u8>| Post {
        source: Source::Woocommerce,
        secret,
        body,
        topic: "order.created",
        id: String::new(),
        at: now(),
    };
    let (ada, bob) = (
        format!("{}@example.com", unique("ada")),
        format!("{}@example.com", unique("bob")),
    );
    // Customer 7 of store A is Ada; customer 7 of store B is Bob.
    let r = post(
        &env,
        &key_a,
        &order("wa", woo_order(101, 7, Some(&ada), "2026-01-01T10:00:00")),
    )
    .await;
    assert_eq!(r.body["outcome"], "granted", "{}", r.text);
    let r = post(
        &env,
        &key_b,
        &order("wb", woo_order(201, 7, Some(&bob), "2026-01-01T10:00:00")),
    )
    .await;
    assert_eq!(r.body["outcome"], "granted", "{}", r.text);
    assert_eq!(spaces_of(&env, &ada).await, Some(vec![space_a]));
    assert_eq!(spaces_of(&env, &bob).await, Some(vec![space_b]));
    // An event of store B naming only customer 7 resolves to Bob, never to Ada.
    let r = post(
        &env,
        &key_b,
        &order("wb", woo_order(202, 7, None, "2026-01-01T11:00:00")),
    )
    .await;
    assert_eq!(r.body["outcome"], "granted", "{}", r.text);
    assert_eq!(spaces_of(&env, &ada).await, Some(vec![space_a]));

    // Store A's customer 7 now buys as Cleo: the event's own email wins over the map, and the
    // map follows it.
    let cleo = format!("{}@example.com", unique("cleo"));
    let r = post(
        &env,
        &key_a,
        &order("wa", woo_order(102, 7, Some(&cleo), "2026-01-01T12:00:00")),
    )
    .await;
    assert_eq!(r.body["outcome"], "granted", "{}", r.text);
    assert_eq!(spaces_of(&env, &cleo).await, Some(vec![space_a]));
    let r = post(
        &env,
        &key_a,
        &order("wa", woo_order(103, 7, None, "2026-01-01T13:00:00")),
    )
    .await;
    assert_eq!(r.body["outcome"], "granted", "{}", r.text);
    let u = env
        .admin("GET", &format!("/admin/users?email={}", enc(&cleo)), None)
        .await;
    let cleo_id = u.body["users"][0]["user_id"].clone();
    assert_eq!(
        r.body["user_id"], cleo_id,
        "the map now names Cleo: {}",
        r.text
    );

    // The old table-wide items are not read.
    let legacy = env
        .all_items()
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("CUSTOMER#")))
        .count();
    assert_eq!(legacy, 0);
}
