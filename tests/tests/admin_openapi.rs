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
