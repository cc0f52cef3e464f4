//! The `admin` function: HTTP Basic auth in front of every route, WordPress REST errors.

mod catalog;
mod incoming;
pub mod openapi;
mod ui;
mod users;
mod webhooks;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::Value;

use crate::app::App;
use crate::domain::page::PageRequest;
use crate::domain::secret;
use crate::error::{Error, Result};

/// The admin router with authentication applied to every route (and the fallbacks).
pub fn router(app: Arc<App>) -> Router {
    let auth = Arc::new(Auth::new(&app));
    Router::new()
        .merge(incoming::routes())
        .merge(catalog::routes())
        .merge(users::routes())
        .merge(ui::routes())
        .merge(webhooks::routes())
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
        .layer(middleware::from_fn_with_state(auth, require_admin))
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
        .flat_map(|rest| webhooks::ALIASES.iter().map(move |a| format!("{a}{rest}")))
        .collect();
    paths.extend(aliased);
    paths.extend(ui::PATHS.iter().map(|p| p.to_string()));
    paths.sort();
    paths.dedup();
    paths
}

/// Verifies HTTP Basic credentials. With `ADMIN_PASSWORD_HASH` the password is checked with
/// argon2id once per distinct header per instance (successes are remembered by their SHA-256).
struct Auth {
    user: String,
    password: Option<String>,
    hash: Option<String>,
    verified: Mutex<HashSet<String>>,
}

impl Auth {
    fn new(app: &App) -> Self {
        let c = &app.config;
        let password = c
            .admin_password
            .clone()
            .or_else(|| c.local_mode.then(|| "admin".to_string()));
        Self {
            user: c.admin_user.clone(),
            password,
            hash: c.admin_password_hash.clone(),
            verified: Mutex::new(HashSet::new()),
        }
    }

    async fn check(self: &Arc<Self>, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|h| {
            h.strip_prefix("Basic ")
                .or_else(|| h.strip_prefix("basic "))
        }) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, password)) = text.split_once(':') else {
            return false;
        };
        let user_ok: bool =
            subtle::ConstantTimeEq::ct_eq(user.as_bytes(), self.user.as_bytes()).into();
        if let Some(hash) = &self.hash {
            let fingerprint = secret::sha256_hex(&text);
            if self.verified.lock().is_ok_and(|v| v.contains(&fingerprint)) {
                return true;
            }
            let (hash, password) = (hash.clone(), password.to_string());
            let ok = tokio::task::spawn_blocking(move || secret::verify_password(&password, &hash))
                .await
                .unwrap_or(false);
            if ok && user_ok {
                if let Ok(mut v) = self.verified.lock() {
                    v.insert(fingerprint);
                }
            }
            return ok && user_ok;
        }
        match &self.password {
            Some(expected) => {
                let pass_ok: bool =
                    subtle::ConstantTimeEq::ct_eq(password.as_bytes(), expected.as_bytes()).into();
                user_ok && pass_ok
            }
            None => false,
        }
    }
}

async fn require_admin(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.check(header).await {
        next.run(req).await
    } else {
        Error::Unauthorized.into_response()
    }
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
