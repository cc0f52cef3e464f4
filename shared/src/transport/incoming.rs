//! The `incoming` function: the three URL forms of docs/reference/incoming.md

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};

use super::body;
use super::request::{header, source_ip};
use serde_json::{json, Value};

use crate::app::incoming::{Call, ErrorKind, Executed};
use crate::app::App;
use crate::domain::incoming::providers::Headers;
use crate::domain::incoming::run::RunOutcome;
use crate::domain::time;
use crate::error::Error;

/// The URL forms with the key in the path (the short one, and seed 000's).
pub const KEY_ROUTES: [&str; 2] = [
    "/webhook/{key}",
    "/wp-json/fluent-community/v2/webhook/{key}",
];

/// The portal form (seed 001): the key in `?webhook=`.
pub const PORTAL_ROUTES: [&str; 2] = ["/portal", "/portal/"];

/// Every path the router answers (the SAM template test routes each through the template).
pub fn route_paths() -> Vec<&'static str> {
    KEY_ROUTES.iter().chain(&PORTAL_ROUTES).copied().collect()
}

pub fn router(app: Arc<App>) -> Router {
    let mut router = Router::new();
    for path in KEY_ROUTES {
        router = router.route(path, any(by_path));
    }
    for path in PORTAL_ROUTES {
        router = router.route(path, any(by_portal));
    }
    router.fallback(|| async { unknown_key() }).with_state(app)
}

fn unknown_key() -> Response {
    Error::NotFound("Invalid webhook URL: no webhook has this key.".into()).into_incoming_response()
}

async fn by_path(
    State(app): State<Arc<App>>,
    key: Result<Path<String>, axum::extract::rejection::PathRejection>,
    req: Request,
) -> Response {
    match key {
        Ok(Path(key)) => execute(&app, key, req).await,
        Err(_) => unknown_key(),
    }
}

async fn by_portal(
    State(app): State<Arc<App>>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
    req: Request,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    match (q.get("fcom_action").map(String::as_str), q.get("webhook")) {
        (Some("incoming_webhook"), Some(key)) => execute(&app, key.clone(), req).await,
        _ => unknown_key(),
    }
}

/// Keys are URL-safe base64; anything else cannot exist and is not worth a lookup.
fn plausible_key(key: &str) -> bool {
    (8..=128).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn execute(app: &App, key: String, req: Request) -> Response {
    if req.method() != Method::POST {
        let mut resp = Error::MethodNotAllowed.into_incoming_response();
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    if !plausible_key(&key) {
        return unknown_key();
    }
    let ip = source_ip(&req);
    let headers = req.headers().clone();
    let max = app.config().max_body_bytes;
    let (raw, too_large) = match axum::body::to_bytes(req.into_body(), max + 1).await {
        Ok(b) if b.len() <= max => (b.to_vec(), false),
        _ => (Vec::new(), true),
    };
    let parsed = if too_large {
        Err(ErrorKind::TooLarge(format!(
            "The body is larger than {max} bytes."
        )))
    } else {
        body::parse(header(&headers, "content-type").as_deref(), &raw, max).await
    };
    let (payload, body_error) = match parsed {
        Ok(p) => (p, None),
        Err(e) => (Default::default(), Some(e)),
    };
    let standard = match (
        header(&headers, "webhook-id"),
        header(&headers, "webhook-timestamp"),
        header(&headers, "webhook-signature"),
    ) {
        (Some(a), Some(b), Some(c)) => Some((a, b, c)),
        _ => None,
    };
    let call = Call {
        key,
        payload,
        body_error,
        raw_body: raw,
        source_ip: ip,
        idempotency_key: header(&headers, "idempotency-key")
            .or_else(|| standard.as_ref().map(|s| s.0.clone())),
        signature: header(&headers, "x-webhook-signature"),
        standard_webhooks: standard,
        headers: Headers(
            headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect(),
        ),
    };
    match app.incoming().execute(call).await {
        Ok(done) => reply(done),
        Err(e) => e.into_incoming_response(),
    }
}

/// An execution's reply: the one place its variants become HTTP.
fn reply(done: Executed) -> Response {
    let (status, body) = match done {
        Executed::Applied(applied) => (200, applied.body()),
        Executed::Skipped {
            outcome,
            reason,
            event,
        } => (200, skipped_body(outcome, &reason, event.as_deref())),
        Executed::Replayed { status, body } => (status, body),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (status, Json(body)).into_response()
}

/// A provider event answered without acting (docs/reference/providers.md).
fn skipped_body(outcome: RunOutcome, reason: &str, event: Option<&str>) -> Value {
    json!({
        "status": "success",
        "success": true,
        "message": "webhook has been successfully executed",
        "execution_timestamp": time::now().as_second(),
        "outcome": outcome,
        "reason": reason,
        "event": event,
    })
}
