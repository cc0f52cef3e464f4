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
