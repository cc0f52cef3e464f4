//! The admin API against moto (docs/reference/incoming.md#configuration-of-an-incoming-webhook,
//! docs/reference/api.md#routes, docs/reference/api.md#conventions,
//! docs/reference/api.md#lists-and-pagination): authentication, CRUD, validation, WordPress-shaped
//! errors, pagination and cursors, the runs log, the event catalog, users.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use switchboard_tests::{basic, Resp, TestEnv};

/// A WordPress REST error: `{"code","message","data":{"status"}}` and nothing else.
#[track_caller]
fn assert_wp_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["code"], code, "{}", r.text);
    assert!(
        r.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.text
    );
    assert_eq!(r.body["data"], json!({ "status": status }), "{}", r.text);
    let keys: BTreeSet<&str> = r
        .body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        BTreeSet::from(["code", "message", "data"]),
        "{}",
        r.text
    );
    let ct = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{ct}");
}

/// `400 invalid_param` whose message names `field`.
#[track_caller]
fn assert_invalid(r: &Resp, field: &str) {
    assert_wp_error(r, 400, "invalid_param");
    let msg = r.body["message"].as_str().unwrap_or_default();
    assert!(msg.contains(field), "message should name `{field}`: {msg}");
}

/// An admin call with a raw body and any headers (e.g. broken JSON, other credentials).
async fn raw(
    env: &TestEnv,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    env.admin_raw(method, path, headers, body, "203.0.113.9")
        .await
}

async fn raw_json(env: &TestEnv, method: &str, path: &str, body: &str) -> Resp {
    let auth = basic("admin", "admin");
    raw(
        env,
        method,
        path,
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .map(|a| a.iter().filter_map(|v| v["id"].as_i64()).collect())
        .unwrap_or_default()
}

// --- authentication -------------------------------------------------------------------------

#[tokio::test]
async fn credentials_are_required_everywhere() {
    let env = TestEnv::new().await;
    let wrong_password = basic("admin", "nope");
    let wrong_user = basic("root", "admin");
    let no_colon = format!("Basic {}", "YWRtaW4=");
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("authorization", wrong_password.as_str())],
        vec![("authorization", wrong_user.as_str())],
        vec![("authorization", no_colon.as_str())],
        vec![("authorization", "Basic !!!not-base64!!!")],
        vec![("authorization", "Bearer admin")],
        vec![("authorization", "")],
    ];
    for headers in &cases {
        for (method, path) in [
            ("GET", "/admin/spaces"),
            ("POST", "/admin/incoming-webhooks"),
            ("GET", "/admin/event-types"),
            ("GET", "/admin/no-such-route"),
            ("DELETE", "/admin/spaces/1"),
        ] {
            let r = raw(&env, method, path, headers, "").await;
            assert_wp_error(&r, 401, "rest_forbidden");
            let challenge = r
                .headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert!(
                challenge.starts_with("Basic"),
                "{method} {path} {headers:?}: WWW-Authenticate = {challenge:?}"
            );
        }
    }
    // Nothing was created by the refused POSTs.
    let list = env.admin("GET", "/admin/incoming-webhooks", None).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["pagination"]["total"], 0);

    // The right credentials (and a lower-case scheme) pass.
    let ok = basic("admin", "admin");
    let lower = ok.replacen("Basic", "basic", 1);
    for auth in [ok.as_str(), lower.as_str()] {
        let r = raw(&env, "GET", "/admin/spaces", &[("authorization", auth)], "").await;
        assert_eq!(r.status, 200, "{auth}: {}", r.text);
    }
}

#[tokio::test]
async fn configured_credentials_replace_the_local_default() {
    let env = TestEnv::with(|c| {
        c.admin_user = "operator".into();
        c.admin_password = Some("s3cret-pass".into());
    })
    .await;
    let default = basic("admin", "admin");
    let r = raw(
        &env,
        "GET",
        "/admin/spaces",
        &[("authorization", default.as_str())],
        "",
    )
    .await;
    assert_wp_error(&r, 401, "rest_forbidden");
    let good = basic("operator", "s3cret-pass");
    let r = raw(
        &env,
        "GET",
        "/admin/spaces",
        &[("authorization", good.as_str())],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

// --- spaces and courses ---------------------------------------------------------------------

#[tokio::test]
async fn spaces_and_courses_crud() {
    let env = TestEnv::new().await;
    for (plural, noun) in [("spaces", "Space"), ("courses", "Course")] {
        let c = env
            .admin(
                "POST",
                &format!("/admin/{plural}"),
                Some(json!({"title": "  Premium Members! ", "description": "For payers"})),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.text);
        assert_eq!(c.body["message"], format!("{noun} created successfully."));
        assert_eq!(c.body["title"], "Premium Members!");
        assert_eq!(c.body["slug"], "premium-members");
        assert_eq!(c.body["description"], "For payers");
        assert!(c.body["created_at"].is_string());
        let id = c.body["id"].as_i64().expect("id");
        assert!(id > 0);

        // Read: the flat object, without a message.
        let g = env
            .admin("GET", &format!("/admin/{plural}/{id}"), None)
            .await;
        assert_eq!(g.status, 200, "{}", g.text);
        assert_eq!(g.body["id"], id);
        assert_eq!(g.body["title"], "Premium Members!");
        assert!(g.body.get("message").is_none(), "{}", g.text);

        // Update (PUT and PATCH), partially.
        let u = env
            .admin(
                "PUT",
                &format!("/admin/{plural}/{id}"),
                Some(json!({"title": "Gold", "slug": "gold-tier"})),
            )
            .await;
        assert_eq!(u.status, 200, "{}", u.text);
        assert_eq!(u.body["message"], format!("{noun} updated successfully."));
        assert_eq!(u.body["title"], "Gold");
        assert_eq!(u.body["slug"], "gold-tier");
        assert_eq!(u.body["description"], "For payers");
        let p = env
            .admin(
                "PATCH",
                &format!("/admin/{plural}/{id}"),
                Some(json!({"description": "Changed"})),
            )
            .await;
        assert_eq!(p.status, 200, "{}", p.text);
        assert_eq!(p.body["title"], "Gold");
        assert_eq!(p.body["description"], "Changed");
        let g = env
            .admin("GET", &format!("/admin/{plural}/{id}"), None)
            .await;
        assert_eq!(g.body["title"], "Gold");
        assert_eq!(g.body["description"], "Changed");

        // Listed.
        let other = env.make(plural, "Second").await;
        let l = env.admin("GET", &format!("/admin/{plural}"), None).await;
        assert_eq!(l.status, 200, "{}", l.text);
        assert_eq!(ids(&l.body[plural]), vec![id, other]);
        assert_eq!(l.body["pagination"]["total"], 2);

        // Members / enrollments of an empty space or course.
        let members = if plural == "spaces" {
            "members"
        } else {
            "enrollments"
        };
        let m = env
            .admin("GET", &format!("/admin/{plural}/{id}/{members}"), None)
            .await;
        assert_eq!(m.status, 200, "{}", m.text);
        assert_eq!(m.body[members], json!([]));
        assert_eq!(m.body["pagination"]["total"], 0);

        // Delete, then it is gone everywhere.
        let d = env
            .admin("DELETE", &format!("/admin/{plural}/{id}"), None)
            .await;
        assert_eq!(d.status, 200, "{}", d.text);
        assert_eq!(d.body["message"], format!("{noun} deleted successfully."));
        for (method, body) in [
            ("GET", None),
            ("DELETE", None),
            ("PUT", Some(json!({"title": "Back"}))),
        ] {
            let r = env
                .admin(method, &format!("/admin/{plural}/{id}"), body)
                .await;
            assert_wp_error(&r, 404, "not_found");
        }
        let r = env
            .admin("GET", &format!("/admin/{plural}/{id}/{members}"), None)
            .await;
        assert_wp_error(&r, 404, "not_found");
        let l = env.admin("GET", &format!("/admin/{plural}"), None).await;
        assert_eq!(ids(&l.body[plural]), vec![other]);
        assert_eq!(l.body["pagination"]["total"], 1);
    }
}

#[tokio::test]
async fn catalog_validation() {
    let env = TestEnv::new().await;
    for plural in ["spaces", "courses"] {
        let path = format!("/admin/{plural}");
        for body in [
            json!({}),
            json!({"title": ""}),
            json!({"title": "   "}),
            json!({"title": 5}),
            json!({"title": null}),
            json!({"title": "x".repeat(201)}),
        ] {
            let r = env.admin("POST", &path, Some(body.clone())).await;
            assert_invalid(&r, "title");
        }
        let r = env
            .admin(
                "POST",
                &path,
                Some(json!({"title": "T", "slug": "Not A Slug"})),
            )
            .await;
        assert_invalid(&r, "slug");
        let r = env
            .admin("POST", &path, Some(json!({"title": "T", "description": 7})))
            .await;
        assert_invalid(&r, "description");
        let id = env.make(plural, "Kept").await;
        let r = env
            .admin("PUT", &format!("{path}/{id}"), Some(json!({"title": ""})))
            .await;
        assert_invalid(&r, "title");
        let g = env.admin("GET", &format!("{path}/{id}"), None).await;
        assert_eq!(g.body["title"], "Kept");
        // An empty update changes nothing and succeeds.
        let r = env
            .admin("PUT", &format!("{path}/{id}"), Some(json!({})))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["title"], "Kept");
        // Nothing invalid was stored.
        let l = env.admin("GET", &path, None).await;
        assert_eq!(l.body["pagination"]["total"], 1, "{}", l.text);
    }
}

// --- incoming webhooks ----------------------------------------------------------------------

#[tokio::test]
async fn incoming_webhooks_crud() {
    let env = TestEnv::new().await;
    let s1 = env.make("spaces", "S1").await;
    let s2 = env.make("spaces", "S2").await;
    let c1 = env.make("courses", "C1").await;

    let c = env
        .admin(
            "POST",
            "/admin/incoming-webhooks",
            Some(json!({
                "title": "Purchases",
                "space_ids": [s1],
                "remove_space_ids": [s2],
                "course_ids": [c1],
                "send_wp_welcome_email": true,
                "allowed_ips": ["10.0.0.0/8", "192.0.2.7"],
            })),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    assert_eq!(c.body["message"], "Incoming webhook created successfully.");
    let id = c.body["id"].as_i64().expect("id");
    let key = c.body["key"].as_str().expect("key").to_string();
    assert!(key.len() >= 22, "{key}");
    assert!(key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(
        c.body["webhook_url"],
        format!("http://127.0.0.1:9000/lambda-url/incoming/webhook/{key}")
    );
    assert_eq!(c.body["title"], "Purchases");
    assert_eq!(c.body["space_ids"], json!([s1]));
    assert_eq!(c.body["remove_space_ids"], json!([s2]));
    assert_eq!(c.body["course_ids"], json!([c1]));
    assert_eq!(c.body["remove_course_ids"], json!([]));
    assert_eq!(c.body["send_wp_welcome_email"], true);
    assert_eq!(c.body["status"], "active");
    assert_eq!(c.body["allowed_ips"], json!(["10.0.0.0/8", "192.0.2.7/32"]));
    assert_eq!(c.body["running_count"], 0);
    assert_eq!(c.body["last_run_at"], Value::Null);
    assert!(c.body["created_at"].is_string() && c.body["updated_at"].is_string());

    // Read.
    let g = env
        .admin("GET", &format!("/admin/incoming-webhooks/{id}"), None)
        .await;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.body["key"], key.as_str());
    assert!(g.body.get("message").is_none());

    // Update: partial, with the alias, lists can be cleared.
    let u = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{id}"),
            Some(json!({
                "title": "Renamed",
                "send_welcome_email": false,
                "status": "inactive",
                "allowed_ips": [],
                "remove_space_ids": [],
            })),
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["message"], "Incoming webhook updated successfully.");
    assert_eq!(u.body["title"], "Renamed");
    assert_eq!(u.body["send_wp_welcome_email"], false);
    assert_eq!(u.body["status"], "inactive");
    assert_eq!(u.body["allowed_ips"], json!([]));
    assert_eq!(u.body["remove_space_ids"], json!([]));
    assert_eq!(
        u.body["space_ids"],
        json!([s1]),
        "untouched fields are kept"
    );
    assert_eq!(u.body["key"], key.as_str(), "updating keeps the key");

    // A signing secret is write-only: the API says whether one is set, never what it is.
    let u = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{id}"),
            Some(json!({"signing_secret": "0123456789abcdef-secret"})),
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["signing_secret_set"], true);
    assert!(!u.text.contains("0123456789abcdef-secret"), "{}", u.text);
    let g = env
        .admin("GET", &format!("/admin/incoming-webhooks/{id}"), None)
        .await;
    assert_eq!(g.body["signing_secret_set"], true);
    assert!(!g.text.contains("0123456789abcdef-secret"), "{}", g.text);
    let u = env
        .admin(
            "PUT",
            &format!("/admin/incoming-webhooks/{id}"),
            Some(json!({"signing_secret": null})),
        )
        .await;
    assert_eq!(u.body["signing_secret_set"], false, "{}", u.text);

    // An inactive webhook refuses calls (423); re-activated, it runs.
    let r = env.post_form(&key, &[("email", "a@example.com")]).await;
    assert_eq!(r.status, 423, "{}", r.text);
    let u = env
        .admin(
            "PATCH",
            &format!("/admin/incoming-webhooks/{id}"),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let r = env.post_form(&key, &[("email", "a@example.com")]).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Listed.
    let (other, _) = env.webhook(json!({"title": "Other"})).await;
    let l = env.admin("GET", "/admin/incoming-webhooks", None).await;
    assert_eq!(l.status, 200, "{}", l.text);
    assert_eq!(ids(&l.body["webhooks"]), vec![id, other]);
    assert_eq!(l.body["pagination"]["total"], 2);
    assert!(!l.text.contains("signing_secret\":\""), "{}", l.text);

    // Rotate: a new key, the old URL stops working at once.
    let rot = env
        .admin(
            "POST",
            &format!("/admin/incoming-webhooks/{id}/rotate"),
            None,
        )
        .await;
    assert_eq!(rot.status, 200, "{}", rot.text);
    assert!(rot.body["message"].is_string());
    let new_key = rot.body["key"].as_str().expect("key").to_string();
    assert_ne!(new_key, key);
    assert!(rot.body["webhook_url"]
        .as_str()
        .is_some_and(|u| u.ends_with(&new_key)));
    let r = env.post_form(&key, &[("email", "b@example.com")]).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = env.post_form(&new_key, &[("email", "b@example.com")]).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Delete: gone from the API and its URL is dead.
    let d = env
        .admin("DELETE", &format!("/admin/incoming-webhooks/{id}"), None)
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["message"], "Incoming webhook deleted successfully.");
    for (method, path) in [
        ("GET", format!("/admin/incoming-webhooks/{id}")),
        ("DELETE", format!("/admin/incoming-webhooks/{id}")),
        ("PUT", format!("/admin/incoming-webhooks/{id}")),
        ("POST", format!("/admin/incoming-webhooks/{id}/rotate")),
        ("GET", format!("/admin/incoming-webhooks/{id}/runs")),
    ] {
        let body = (method == "PUT").then(|| json!({"title": "x"}));
        let r = env.admin(method, &path, body).await;
        assert_wp_error(&r, 404, "not_found");
    }
    let r = env.post_form(&new_key, &[("email", "c@example.com")]).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let l = env.admin("GET", "/admin/incoming-webhooks", None).await;
    assert_eq!(ids(&l.body["webhooks"]), vec![other]);
}

#[tokio::test]
async fn incoming_webhook_validation() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let course = env.make("courses", "C").await;
    let path = "/admin/incoming-webhooks";

    for body in [
        json!({}),
        json!({"space_ids": [space]}),
        json!({"title": ""}),
        json!({"title": 42}),
    ] {
        let r = env.admin("POST", path, Some(body)).await;
        assert_invalid(&r, "title");
    }
    // Unknown spaces and courses, in each of the four lists, are rejected naming the list.
    for field in [
        "space_ids",
        "remove_space_ids",
        "course_ids",
        "remove_course_ids",
    ] {
        let r = env
            .admin(
                "POST",
                path,
                Some(json!({"title": "T", field: [space, course, 999_999]})),
            )
            .await;
        assert_invalid(&r, field);
        assert!(r.text.contains("999999"), "{}", r.text);
        for bad in [
            json!("1"),
            json!([-1]),
            json!([0]),
            json!(["x"]),
            json!({"a": 1}),
        ] {
            let r = env
                .admin("POST", path, Some(json!({"title": "T", field: bad})))
                .await;
            assert_invalid(&r, field);
        }
    }
    // A space id is not a course id (ids are per kind).
    let other_space = env.make("spaces", "S2").await;
    let r = env
        .admin(
            "POST",
            path,
            Some(json!({"title": "T", "course_ids": [other_space]})),
        )
        .await;
    assert_invalid(&r, "course_ids");
    for bad in [
        json!(["nope"]),
        json!(["10.0.0.0/33"]),
        json!(["300.1.1.1"]),
        json!([5]),
        json!("10.0.0.0/8"),
    ] {
        let r = env
            .admin(
                "POST",
                path,
                Some(json!({"title": "T", "allowed_ips": bad})),
            )
            .await;
        assert_invalid(&r, "allowed_ips");
    }
    for (field, bad) in [
        ("status", json!("on")),
        ("send_wp_welcome_email", json!("maybe")),
        ("signing_secret", json!("short")),
        ("field_map", json!(["x"])),
    ] {
        let r = env
            .admin("POST", path, Some(json!({"title": "T", field: bad})))
            .await;
        assert_invalid(&r, field);
    }
    // Nothing was created by any of those.
    let l = env.admin("GET", path, None).await;
    assert_eq!(l.body["pagination"]["total"], 0, "{}", l.text);

    // Updates are validated the same way and leave the webhook unchanged.
    let (id, _) = env
        .webhook(json!({"title": "T", "space_ids": [space]}))
        .await;
    for (field, bad) in [
        ("space_ids", json!([999_999])),
        ("course_ids", json!([999_999])),
        ("title", json!("")),
        ("allowed_ips", json!(["bad"])),
    ] {
        let r = env
            .admin("PUT", &format!("{path}/{id}"), Some(json!({ field: bad })))
            .await;
        assert_invalid(&r, field);
    }
    let g = env.admin("GET", &format!("{path}/{id}"), None).await;
    assert_eq!(g.body["title"], "T");
    assert_eq!(g.body["space_ids"], json!([space]));
}

#[tokio::test]
async fn bad_json_is_a_400_never_a_500() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (wid, _) = env.webhook(json!({"title": "T"})).await;
    let targets = [
        ("POST", "/admin/spaces".to_string()),
        ("POST", "/admin/courses".to_string()),
        ("POST", "/admin/incoming-webhooks".to_string()),
        ("PUT", format!("/admin/spaces/{space}")),
        ("PATCH", format!("/admin/spaces/{space}")),
        ("PUT", format!("/admin/incoming-webhooks/{wid}")),
    ];
    let bodies = [
        "{",
        "{\"title\": }",
        "{\"title\": \"a\",}",
        "not json",
        "[1, 2]",
        "[]",
        "\"title\"",
        "42",
        "null",
        "true",
        "{\"title\": \"a\"} trailing",
        "\u{feff}{\"title\": \"a\"",
    ];
    for (method, path) in &targets {
        for body in bodies {
            let r = raw_json(&env, method, path, body).await;
            assert_eq!(r.status, 400, "{method} {path} {body:?}: {}", r.text);
            assert_wp_error(&r, 400, r.body["code"].as_str().unwrap_or("?"));
            assert!(
                ["rest_invalid_json", "invalid_param"]
                    .contains(&r.body["code"].as_str().unwrap_or("")),
                "{}",
                r.text
            );
        }
        // A wrong content type with a JSON body, or none at all, still never 500s.
        let auth = basic("admin", "admin");
        let r = raw(
            &env,
            method,
            path,
            &[
                ("authorization", auth.as_str()),
                ("content-type", "text/plain"),
            ],
            "{",
        )
        .await;
        assert!(r.status < 500, "{method} {path}: {}", r.text);
    }
    // Nothing was created or changed.
    let s = env.admin("GET", "/admin/spaces", None).await;
    assert_eq!(s.body["pagination"]["total"], 1, "{}", s.text);
    assert_eq!(s.body["spaces"][0]["title"], "S");
    let w = env.admin("GET", "/admin/incoming-webhooks", None).await;
    assert_eq!(w.body["pagination"]["total"], 1, "{}", w.text);
    // A malformed query string is a 400 too.
    let r = env.admin("GET", "/admin/spaces?per_page=%zz", None).await;
    assert!(r.status == 400 || r.status == 200, "{}", r.text);
    assert!(r.status < 500);
}

// --- not found, wrong methods -----------------------------------------------------------------

#[tokio::test]
async fn unknown_ids_and_routes_are_404_not_found() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    for path in [
        "/admin/spaces/999999",
        "/admin/spaces/abc",
        "/admin/spaces/0",
        "/admin/spaces/-1",
        "/admin/spaces/1.5",
        "/admin/spaces/99999999999999999999999",
        "/admin/spaces/999999/members",
        "/admin/spaces/abc/members",
        "/admin/courses/999999",
        "/admin/courses/x",
        "/admin/courses/999999/enrollments",
        "/admin/incoming-webhooks/999999",
        "/admin/incoming-webhooks/abc",
        "/admin/incoming-webhooks/999999/runs",
        "/admin/incoming-webhooks/abc/runs",
        "/admin/users/999999",
        "/admin/users/abc",
        "/admin/nothing-here",
        "/admin",
        "/",
        "/wp-json/nope",
        "/admin/spaces/1/unknown",
    ] {
        let r = env.admin("GET", path, None).await;
        assert_wp_error(&r, 404, "not_found");
        assert!(!r.text.contains("panick"), "{path}");
    }
    for (method, path) in [
        ("PUT", "/admin/spaces/999999"),
        ("DELETE", "/admin/spaces/999999"),
        ("PUT", "/admin/courses/abc"),
        ("DELETE", "/admin/incoming-webhooks/999999"),
        ("PUT", "/admin/incoming-webhooks/999999"),
        ("POST", "/admin/incoming-webhooks/999999/rotate"),
        ("POST", "/admin/incoming-webhooks/abc/rotate"),
    ] {
        let body = (method == "PUT").then(|| json!({"title": "x"}));
        let r = env.admin(method, path, body).await;
        assert_wp_error(&r, 404, "not_found");
    }
    // The existing space is untouched.
    let r = env
        .admin("GET", &format!("/admin/spaces/{space}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn wrong_methods_are_405() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (wid, _) = env.webhook(json!({"title": "T"})).await;
    for (method, path) in [
        ("DELETE", "/admin/spaces".to_string()),
        ("PUT", "/admin/spaces".to_string()),
        ("POST", format!("/admin/spaces/{space}")),
        ("POST", format!("/admin/spaces/{space}/members")),
        ("DELETE", "/admin/courses".to_string()),
        ("PATCH", "/admin/incoming-webhooks".to_string()),
        ("POST", format!("/admin/incoming-webhooks/{wid}")),
        ("GET", format!("/admin/incoming-webhooks/{wid}/rotate")),
        ("DELETE", format!("/admin/incoming-webhooks/{wid}/runs")),
        ("POST", "/admin/event-types".to_string()),
        ("DELETE", "/admin/users".to_string()),
        ("POST", "/admin/users/1".to_string()),
    ] {
        let r = env.admin(method, &path, Some(json!({"title": "x"}))).await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
        assert_eq!(r.body["data"], json!({"status": 405}), "{}", r.text);
        assert!(r.body["code"].is_string() && r.body["message"].is_string());
        let allow = r
            .headers
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            !allow.is_empty() && !allow.contains(method),
            "{method} {path}: Allow = {allow:?}"
        );
    }
    // None of them changed anything.
    let s = env.admin("GET", "/admin/spaces", None).await;
    assert_eq!(s.body["pagination"]["total"], 1, "{}", s.text);
    let w = env.admin("GET", "/admin/incoming-webhooks", None).await;
    assert_eq!(w.body["pagination"]["total"], 1, "{}", w.text);
}

// --- pagination ---------------------------------------------------------------------------------

#[tokio::test]
async fn spaces_pagination_and_cursors() {
    let env = TestEnv::new().await;
    let mut created = Vec::new();
    for chunk in 0..3 {
        let titles: Vec<String> = (0..10)
            .map(|i| format!("Space {}", chunk * 10 + i))
            .collect();
        let made = futures::future::join_all(titles.iter().map(|t| env.make("spaces", t))).await;
        created.extend(made);
    }
    created.sort_unstable();
    let all: BTreeSet<i64> = created.iter().copied().collect();
    assert_eq!(all.len(), 30);

    // Defaults: 25 per page.
    let r = env.admin("GET", "/admin/spaces", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["pagination"],
        json!({"total": 30, "per_page": 25, "current_page": 1, "last_page": 2})
    );
    assert_eq!(r.body["spaces"].as_array().map(Vec::len), Some(25));

    // Page numbers: every item exactly once, in id order.
    for per_page in [1usize, 7, 10, 30, 100] {
        let last_page = 30usize.div_ceil(per_page);
        let mut seen = Vec::new();
        for page in 1..=last_page + 1 {
            let r = env
                .admin(
                    "GET",
                    &format!("/admin/spaces?per_page={per_page}&page={page}"),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(
                r.body["pagination"],
                json!({"total": 30, "per_page": per_page, "current_page": page, "last_page": last_page}),
                "per_page={per_page} page={page}"
            );
            let got = ids(&r.body["spaces"]);
            let expected = if page <= last_page {
                per_page.min(30 - (page - 1) * per_page)
            } else {
                0
            };
            assert_eq!(got.len(), expected, "per_page={per_page} page={page}");
            seen.extend(got);
        }
        assert_eq!(seen, created, "per_page={per_page}");
    }

    // Out-of-range parameters are a 400 naming the parameter.
    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=-1", "per_page"),
        ("per_page=abc", "per_page"),
        ("page=0", "page"),
        ("page=-3", "page"),
        ("page=x", "page"),
    ] {
        let r = env
            .admin("GET", &format!("/admin/spaces?{query}"), None)
            .await;
        assert_invalid(&r, field);
    }

    // Cursors: every item exactly once, in order, with exact totals on each page.
    for per_page in [8usize, 10, 30] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut requests = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/admin/spaces?per_page={per_page}&cursor={c}"),
                None => format!("/admin/spaces?per_page={per_page}"),
            };
            let r = env.admin("GET", &path, None).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(r.body["pagination"]["total"], 30);
            let got = ids(&r.body["spaces"]);
            assert!(got.len() <= per_page);
            seen.extend(got);
            requests += 1;
            assert!(
                requests <= 30 / per_page + 2,
                "the cursor walk does not end"
            );
            match r.body["next_cursor"].as_str() {
                Some(c) => {
                    assert!(!c.is_empty());
                    cursor = Some(c.to_string());
                }
                None => {
                    assert_eq!(r.body["next_cursor"], Value::Null, "{}", r.text);
                    break;
                }
            }
        }
        assert_eq!(seen, created, "cursor walk with per_page={per_page}");
    }

    // A cursor that is not one of this list's is a 400, never a 500.
    let first_courses = {
        for i in 0..3 {
            env.make("courses", &format!("C{i}")).await;
        }
        let r = env.admin("GET", "/admin/courses?per_page=1", None).await;
        r.body["next_cursor"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(!first_courses.is_empty());
    for bad in [
        "garbage".to_string(),
        "!!!".to_string(),
        "e30".to_string(),                 // base64url of "{}"
        "eyJwayI6IlNQQUNFIn0".to_string(), // {"pk":"SPACE"}
        first_courses,
    ] {
        let r = env
            .admin("GET", &format!("/admin/spaces?cursor={bad}"), None)
            .await;
        assert_invalid(&r, "cursor");
    }
}

#[tokio::test]
async fn runs_are_listed_newest_first_with_pagination() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (wid, key) = env
        .webhook(json!({"title": "T", "space_ids": [space]}))
        .await;
    let (other, other_key) = env.webhook(json!({"title": "Other"})).await;
    let emails: Vec<String> = (0..12).map(|i| format!("run{i:02}@example.com")).collect();
    for email in &emails {
        let r = env
            .post_form(&key, &[("email", email), ("user_pass", "Secret-Pass-1")])
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // A failed call is logged too; calls to another webhook are not in this log.
    let r = env.post_form(&key, &[("email", "not-an-email")]).await;
    assert_eq!(r.status, 423, "{}", r.text);
    let r = env
        .post_form(&other_key, &[("email", "elsewhere@example.com")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // (The failed call's invalid address is recorded as given.)
    let mut newest_first: Vec<String> = emails.iter().rev().cloned().collect();
    newest_first.insert(0, "not-an-email".into());

    let r = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}/runs"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["pagination"],
        json!({"total": 13, "per_page": 25, "current_page": 1, "last_page": 1})
    );
    let runs = r.body["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 13);
    assert_eq!(runs[0]["outcome"], "failed");
    assert_eq!(runs[0]["status_code"], 423);
    assert_eq!(
        runs[0]["email"], "not-an-email",
        "an invalid address is recorded as given"
    );
    assert_eq!(runs[0]["created"], false);
    assert!(runs[0]["error"].is_string(), "{}", runs[0]);
    assert_eq!(runs[1]["email"], "run11@example.com");
    assert_eq!(runs[1]["outcome"], "success");
    assert_eq!(runs[1]["created"], true);
    assert_eq!(runs[1]["spaces"]["added"], json!([space]));
    let times: Vec<&str> = runs.iter().filter_map(|r| r["time"].as_str()).collect();
    assert_eq!(times.len(), 13);
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert!(!r.text.contains("Secret-Pass-1"));

    // Pages of 5: 5, 5, 3, newest first across pages.
    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = env
            .admin(
                "GET",
                &format!("/admin/incoming-webhooks/{wid}/runs?per_page=5&page={page}"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body["pagination"],
            json!({"total": 13, "per_page": 5, "current_page": page, "last_page": 3})
        );
        let batch: Vec<String> = r.body["runs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x["email"].as_str().unwrap_or("?").to_string())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(batch.len(), if page < 3 { 5 } else { 3 });
        seen.extend(batch);
    }
    assert_eq!(seen, newest_first);

    // The same by cursor.
    let mut seen = Vec::new();
    let mut path = format!("/admin/incoming-webhooks/{wid}/runs?per_page=4");
    for _ in 0..10 {
        let r = env.admin("GET", &path, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        seen.extend(
            r.body["runs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|x| x["email"].as_str().unwrap_or("?").to_string()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/admin/incoming-webhooks/{wid}/runs?per_page=4&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);

    // The other webhook's log holds only its own call, and cursors do not cross logs.
    let r = env
        .admin(
            "GET",
            &format!("/admin/incoming-webhooks/{other}/runs"),
            None,
        )
        .await;
    assert_eq!(r.body["pagination"]["total"], 1, "{}", r.text);
    assert_eq!(r.body["runs"][0]["email"], "elsewhere@example.com");
    let first = env
        .admin(
            "GET",
            &format!("/admin/incoming-webhooks/{wid}/runs?per_page=1"),
            None,
        )
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap_or_default();
    assert!(!cursor.is_empty());
    let r = env
        .admin(
            "GET",
            &format!("/admin/incoming-webhooks/{other}/runs?cursor={cursor}"),
            None,
        )
        .await;
    assert_invalid(&r, "cursor");
    for query in ["per_page=0", "per_page=101", "cursor=zzz"] {
        let r = env
            .admin(
                "GET",
                &format!("/admin/incoming-webhooks/{wid}/runs?{query}"),
                None,
            )
            .await;
        assert_wp_error(&r, 400, "invalid_param");
    }

    // The webhook counts its successful runs.
    let w = env
        .admin("GET", &format!("/admin/incoming-webhooks/{wid}"), None)
        .await;
    assert_eq!(w.body["running_count"], 12, "{}", w.text);
}

// --- catalog of events, users -----------------------------------------------------------------

#[tokio::test]
async fn event_types_catalog_grouped_by_namespace() {
    let env = TestEnv::new().await;
    let r = env.admin("GET", "/admin/event-types", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all: Vec<&str> = r.body["event_types"]
        .as_array()
        .expect("event_types")
        .iter()
        .map(|e| {
            assert!(
                e["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{e}"
            );
            e["event"].as_str().expect("event")
        })
        .collect();
    for expected in [
        "space.member_joined",
        "contact.created",
        "commerce.revenue_recorded",
        "incoming_webhook.processed",
        "webhook.test",
        "feed.created",
        "course.enrolled",
        "user.registered",
    ] {
        assert!(all.contains(&expected), "{expected} missing from {all:?}");
    }
    let unique: BTreeSet<&str> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "duplicates in {all:?}");

    let groups = r.body["groups"].as_array().expect("groups");
    let mut grouped = Vec::new();
    let mut namespaces = Vec::new();
    for g in groups {
        let ns = g["namespace"].as_str().expect("namespace");
        namespaces.push(ns);
        assert_eq!(g["pattern"], format!("{ns}.*"));
        let events = g["events"].as_array().expect("events");
        assert!(!events.is_empty(), "{ns}");
        for e in events {
            let name = e["event"].as_str().expect("event");
            assert!(name.starts_with(&format!("{ns}.")), "{name} under {ns}");
            assert!(e["description"].is_string());
            grouped.push(name);
        }
    }
    for ns in [
        "space",
        "contact",
        "commerce",
        "incoming_webhook",
        "webhook",
    ] {
        assert!(namespaces.contains(&ns), "{ns} not in {namespaces:?}");
    }
    let distinct_ns: BTreeSet<&str> = namespaces.iter().copied().collect();
    assert_eq!(distinct_ns.len(), namespaces.len(), "{namespaces:?}");
    // Every event is in exactly one group.
    let mut a = all.clone();
    a.sort_unstable();
    grouped.sort_unstable();
    assert_eq!(a, grouped);
}

#[tokio::test]
async fn users_listing_and_lookup() {
    let env = TestEnv::new().await;
    let space = env.make("spaces", "S").await;
    let (_, key) = env
        .webhook(json!({"title": "T", "space_ids": [space]}))
        .await;

    // No members yet.
    let r = env.admin("GET", "/admin/users", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["users"], json!([]));
    assert_eq!(r.body["pagination"]["total"], 0);

    let mut user_ids = Vec::new();
    for (email, first) in [
        ("Ann@Example.com", "Ann"),
        ("bob@example.com", "Bob"),
        ("cy@example.com", "Cy"),
    ] {
        let r = env
            .post_form(
                &key,
                &[
                    ("email", email),
                    ("first_name", first),
                    ("user_pass", "Pw-123456"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        user_ids.push(r.body["user_id"].as_i64().expect("user_id"));
    }

    let r = env.admin("GET", "/admin/users", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["pagination"],
        json!({"total": 3, "per_page": 25, "current_page": 1, "last_page": 1})
    );
    let listed: Vec<i64> = r.body["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["user_id"].as_i64())
        .collect();
    assert_eq!(listed, user_ids);
    assert_eq!(r.body["users"][0]["email"], "ann@example.com");
    assert_eq!(r.body["users"][0]["first_name"], "Ann");
    assert!(!r.text.contains("argon2") && !r.text.contains("Pw-123456"));

    let r = env
        .admin("GET", "/admin/users?per_page=2&page=2", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["pagination"]["last_page"], 2);
    assert_eq!(r.body["users"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["users"][0]["user_id"], user_ids[2]);

    // Lookup by email, case-insensitively, with spaces and courses.
    let r = env
        .admin("GET", "/admin/users?email=ANN%40example.COM", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["pagination"]["total"], 1);
    let u = &r.body["users"][0];
    assert_eq!(u["user_id"], user_ids[0]);
    assert_eq!(u["spaces"][0]["space_id"], space);
    assert_eq!(u["courses"], json!([]));
    let by_id = env
        .admin("GET", &format!("/admin/users/{}", user_ids[0]), None)
        .await;
    assert_eq!(by_id.status, 200, "{}", by_id.text);
    assert_eq!(by_id.body["email"], "ann@example.com");
    assert_eq!(by_id.body["spaces"][0]["space_id"], space);

    // Unknown address: an empty list. Invalid address: 400 naming `email`.
    let r = env
        .admin("GET", "/admin/users?email=nobody%40example.com", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["users"], json!([]));
    assert_eq!(r.body["pagination"]["total"], 0);
    for bad in ["bad", "a%40b%40c", "%40example.com", "x%40", "%20"] {
        let r = env
            .admin("GET", &format!("/admin/users?email={bad}"), None)
            .await;
        assert_invalid(&r, "email");
    }
    for query in ["per_page=0", "per_page=101"] {
        let r = env
            .admin("GET", &format!("/admin/users?{query}"), None)
            .await;
        assert_invalid(&r, "per_page");
    }
}

/// Issue 9 item 8: a page's total never walks a whole partition. Counting stops a fixed number
/// of items past the page; beyond that the total is a lower bound and the response says so.
#[tokio::test]
async fn totals_stop_counting_past_the_page_and_say_so() {
    use switchboard::domain::page::PageRequest;
    use switchboard::store::QuerySpec;
    let env = TestEnv::new().await;
    for i in 0..8 {
        env.make("spaces", &format!("Space {i}")).await;
    }
    let req = PageRequest::parse(Some("2"), None, None).unwrap();
    let spec = QuerySpec::table(switchboard::store::keys::SPACE);
    let near = env
        .app
        .store_for_tests()
        .table
        .page_counting_ahead(&spec, &req, 3)
        .await
        .unwrap();
    assert_eq!((near.total, near.total_exact), (5, false));
    assert_eq!(near.items.len(), 2);
    assert_eq!(
        near.map(|_| serde_json::Value::Null).to_json("spaces")["pagination"]
            ["total_is_lower_bound"],
        true
    );
    let all = env
        .app
        .store_for_tests()
        .table
        .page_counting_ahead(&spec, &req, 100)
        .await
        .unwrap();
    assert_eq!((all.total, all.total_exact), (8, true));
    // Through the API (1,000 ahead): exact, and no lower-bound flag.
    let r = env.admin("GET", "/admin/spaces?per_page=2", None).await;
    assert_eq!(r.body["pagination"]["total"], 8, "{}", r.text);
    assert!(r.body["pagination"].get("total_is_lower_bound").is_none());
}
