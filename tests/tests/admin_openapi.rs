//! `GET /admin/openapi.json` documents every route the admin router answers.

use serde_json::json;
use switchboard_tests::TestEnv;

#[tokio::test]
async fn every_documented_route_is_answered() {
    let env = TestEnv::new().await;
    let doc = env.admin("GET", "/admin/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let paths = doc.body["paths"].as_object().expect("paths");
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().map_or(0, |m| m.len()))
            .sum::<usize>(),
        switchboard::transport::admin::openapi::ROUTES.len()
    );
    for (method, path, _, _) in switchboard::transport::admin::openapi::ROUTES {
        let concrete = path
            .replace("{id}", "999999")
            .replace("{delivery_id}", "01HQ3Z9X4K8M2N5P7R9T1V3W5Y");
        let body = matches!(*method, "post" | "put").then(|| json!({}));
        let r = env.admin(&method.to_uppercase(), &concrete, body).await;
        // Unknown routes answer "No route was found"; wrong methods 405. Anything else is a handler.
        assert_ne!(r.status, 405, "{method} {path}: {}", r.text);
        assert!(
            !r.text.contains("No route was found"),
            "{method} {path} is documented but not routed"
        );
        assert!(r.status < 500, "{method} {path}: {}", r.text);
    }
}

/// Bodies that are not UTF-8 (API Gateway hands them over base64-encoded) are a `400` on every
/// route that takes a body — never a 5xx. (`cargo lambda watch` cannot carry such bodies, so
/// schemathesis runs in positive mode and this test covers them.)
#[tokio::test]
async fn bodies_that_are_not_utf8_are_refused_on_every_route() {
    let env = TestEnv::new().await;
    for (method, path, _, _) in switchboard::transport::admin::openapi::ROUTES {
        if !matches!(*method, "post" | "put") {
            continue;
        }
        let concrete = path
            .replace("{id}", "1")
            .replace("{delivery_id}", "01HQ3Z9X4K8M2N5P7R9T1V3W5Y");
        for body in [&b"\xff\xfe{"[..], b"{\"name\":\"\xc3\x28\"}", b"\xef\xbf"] {
            let r = switchboard_tests::call(
                &env.admin,
                &method.to_uppercase(),
                &concrete,
                vec![
                    (
                        "authorization".into(),
                        switchboard_tests::basic("admin", "admin"),
                    ),
                    ("content-type".into(), "application/json".into()),
                ],
                body.to_vec(),
                "203.0.113.9",
            )
            .await;
            assert!(
                (400..500).contains(&r.status),
                "{method} {path} with a non-UTF-8 body: {} {}",
                r.status,
                r.text
            );
        }
    }
}

/// The OpenAPI 3.1 `webhooks` section: one operation per catalog event, its body a valid JSON
/// Schema of the delivered payload that accepts the delivery the standard format really sends.
#[tokio::test]
async fn every_catalog_event_is_a_webhook_with_a_valid_payload_schema() {
    let env = TestEnv::new().await;
    let doc = env.admin("GET", "/admin/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    let hooks = doc.body["webhooks"].as_object().expect("webhooks");
    assert_eq!(hooks.len(), switchboard::domain::events::CATALOG.len());
    for (event, _, _) in switchboard::domain::events::CATALOG {
        let op = &hooks[*event]["post"];
        let body = &op["requestBody"]["content"]["application/json"];
        let reference = body["schema"]["$ref"].as_str().expect("$ref");
        assert_eq!(reference, format!("#/components/schemas/{event}"));
        let schema = &doc.body["components"]["schemas"][*event];
        assert!(
            jsonschema::meta::is_valid(schema),
            "{event}: not a valid JSON Schema: {schema}"
        );
        let validator = jsonschema::validator_for(schema).expect("compiles");
        // The real delivered body of the catalog's sample, as an endpoint receives it.
        let (data, xprofile) = switchboard::domain::format::sample::sample(event);
        let delivered = switchboard::domain::format::standard::payload(
            event,
            "2024-01-15T10:30:00Z",
            7,
            "01HQ3Z9X4K8M2N5P7R9T1V3W5Y",
            &data,
            xprofile.as_ref(),
        );
        let delivered: serde_json::Value = serde_json::from_str(&delivered).expect("json");
        let errors: Vec<String> = validator
            .iter_errors(&delivered)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{event}: {errors:?}");
        assert!(validator.is_valid(&body["example"]), "{event}: example");
        // Another event's payload is refused (the `event` const).
        let mut other = delivered.clone();
        other["event"] = json!("webhook.test");
        assert_eq!(validator.is_valid(&other), *event == "webhook.test");
    }
    let silent = &doc.body["components"]["schemas"]["incoming_webhook.silent"];
    let data = &silent["properties"]["data"]["properties"];
    for field in ["webhook_id", "title", "last_call_at"] {
        assert!(data.get(field).is_some(), "{field}: {silent}");
    }
}
