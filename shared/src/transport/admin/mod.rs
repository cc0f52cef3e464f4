//! The `admin` function: the request guard (browser rules, sign-in, back-off, scopes) in front
//! of every route, WordPress REST errors.

mod app_passwords;
mod catalog;
mod guard;
mod incoming;
pub mod openapi;
mod outbox;
mod outgoing;
mod ui;
mod users;
mod views;

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::app::access::Verified;
use crate::app::App;
use crate::domain::page::PageRequest;
use crate::error::{Error, Result};

/// The admin router with [`guard`] applied to every route (and the fallbacks).
pub fn router(app: Arc<App>) -> Router {
    let guard_state = guard::Guard {
        app: app.clone(),
        verified: Arc::new(Verified::default()),
    };
    Router::new()
        .merge(incoming::routes())
        .merge(catalog::routes())
        .merge(users::routes())
        .merge(ui::routes())
        .merge(outgoing::routes())
        .merge(app_passwords::routes())
        .merge(outbox::routes())
        .route(
            "/admin/event-types",
            get(|| async { Json(crate::domain::events::catalog_json()) }),
        )
        .route(
            "/admin/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .fallback(|| async {
            Error::NotFound("No route was found matching the URL and request method.".into())
        })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .with_state(app)
        .layer(middleware::from_fn_with_state(guard_state, guard::guard))
}

/// Every path the admin router answers: the documented routes ([`openapi::ROUTES`]), the
/// outgoing webhook routes again under each seed alias, and the UI's files. The SAM template
/// test routes each through the template; `tests/tests/admin_openapi.rs` calls each.
pub fn route_paths() -> Vec<String> {
    let mut paths: Vec<String> = openapi::ROUTES
        .iter()
        .map(|(_, path, _, _)| path.to_string())
        .collect();
    let aliased: Vec<String> = paths
        .iter()
        .filter_map(|p| p.strip_prefix("/admin/webhooks"))
        .flat_map(|rest| outgoing::ALIASES.iter().map(move |a| format!("{a}{rest}")))
        .collect();
    paths.extend(aliased);
    paths.extend(ui::PATHS.iter().map(|p| p.to_string()));
    paths.sort();
    paths.dedup();
    paths
}

// --- small helpers shared by the handlers ----------------------------------------------------

/// Query parameters; a malformed query string is a `400`, not a plain-text rejection.
pub(crate) type Query = std::result::Result<
    axum::extract::Query<HashMap<String, String>>,
    axum::extract::rejection::QueryRejection,
>;

pub(crate) fn query_map(q: Query) -> Result<HashMap<String, String>> {
    q.map(|axum::extract::Query(m)| m)
        .map_err(|_| Error::invalid("query", "the query string is malformed"))
}

/// A path segment; a malformed one names nothing.
pub(crate) type PathSeg =
    std::result::Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>;

pub(crate) fn seg(p: PathSeg, what: &str) -> Result<i64> {
    match p {
        Ok(axum::extract::Path(raw)) => path_id(&raw, what),
        Err(_) => Err(Error::NotFound(format!("{what} not found."))),
    }
}

pub(crate) fn page_request(q: &HashMap<String, String>) -> Result<PageRequest> {
    PageRequest::parse(
        q.get("per_page").map(String::as_str),
        q.get("page").map(String::as_str),
        q.get("cursor").map(String::as_str),
    )
    .map_err(Error::from)
}

/// Ids in paths are positive integers; anything else names nothing.
pub(crate) fn path_id(raw: &str, what: &str) -> Result<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::NotFound(format!("{what} not found.")))
}

/// A created object: `201` with the object and a message.
pub(crate) fn created(mut v: Value, message: &str) -> Response {
    v["message"] = Value::String(message.into());
    (StatusCode::CREATED, Json(v)).into_response()
}

pub(crate) fn updated(mut v: Value, message: &str) -> Response {
    v["message"] = Value::String(message.into());
    Json(v).into_response()
}

pub(crate) fn message(message: &str) -> Response {
    Json(serde_json::json!({ "message": message })).into_response()
}
