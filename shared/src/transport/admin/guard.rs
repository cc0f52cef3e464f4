//! What every admin request passes before a handler (docs/reference/security.md), in this order:
//!
//! 1. The UI's static shell and assets (`GET /admin/ui...`) are served to anyone: they hold no
//!    data, and asking for credentials there would make the browser show its Basic prompt.
//! 2. An unsafe method (POST, PUT, PATCH, DELETE) from a foreign browser context
//!    (`Sec-Fetch-Site: cross-site|same-site`, or an `Origin` that is not this one) → `403`.
//! 3. A body that is not `application/json` → `415`.
//! 4. Sign-in (operator or application password) with the per-source back-off: `429` with
//!    `Retry-After` while backed off, `401` for missing or wrong credentials — with the Basic
//!    challenge only for non-browser clients, so a browser never prompts and never caches a
//!    credential that a foreign page could ride on.
//! 5. The application password's scope → `403` outside it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::access::{Refusal, Verified};
use crate::app::App;
use crate::domain::auth::{self, Need, Principal};
use crate::error::Error;
use crate::transport::request::{header as header_str, source_ip};

/// Largest admin request body (the handlers' own limit).
const MAX_ADMIN_BODY: usize = 2 * 1024 * 1024;

/// The guard's state: the app and this instance's verified-credential memory.
#[derive(Clone, Debug)]
pub struct Guard {
    pub app: Arc<App>,
    pub verified: Arc<Verified>,
}

/// Requests a browser sends: every current browser adds `Sec-Fetch-Mode` to every request; the
/// UI also sends `X-Requested-With`; cross-origin and unsafe requests carry `Origin`.
fn from_browser(h: &HeaderMap) -> bool {
    ["sec-fetch-mode", "x-requested-with", "origin"]
        .iter()
        .any(|n| h.contains_key(*n))
}

fn is_ui_asset(method: &http::Method, path: &str) -> bool {
    (method == http::Method::GET || method == http::Method::HEAD)
        && (path == "/admin/ui" || path.starts_with("/admin/ui/"))
}

/// POST, PUT, PATCH and DELETE change things.
fn is_unsafe(method: &http::Method) -> bool {
    [
        http::Method::POST,
        http::Method::PUT,
        http::Method::PATCH,
        http::Method::DELETE,
    ]
    .contains(method)
}

/// What a request needs from an application password's scope: reading for `GET` and `HEAD`,
/// publishing for `POST /admin/events`, a change for anything else.
fn need(method: &http::Method, path: &str) -> Need {
    if method == http::Method::GET || method == http::Method::HEAD {
        Need::Read
    } else if method == http::Method::POST && path.trim_end_matches('/') == "/admin/events" {
        Need::Publish
    } else {
        Need::Change
    }
}

pub async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if is_ui_asset(&method, &path) {
        return next.run(req).await;
    }
    let h = req.headers();
    if is_unsafe(&method)
        && auth::foreign_browser_context(
            header_str(h, "sec-fetch-site").as_deref(),
            header_str(h, "origin").as_deref(),
            header_str(h, "host").as_deref(),
            header_str(h, "x-forwarded-proto").as_deref(),
        )
    {
        return Error::Forbidden("Requests from another site may not change anything here.".into())
            .into_response();
    }
    let req = match json_only(req).await {
        Ok(req) => req,
        Err(e) => return e.into_response(),
    };
    let browser = from_browser(req.headers());
    let credentials = auth::parse_basic(
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let principal = match g
        .app
        .access()
        .authenticate(&g.verified, credentials, source_ip(&req))
        .await
    {
        Ok(Ok(p)) => p,
        Ok(Err(Refusal::Throttled { retry_after })) => return throttled(retry_after),
        Ok(Err(Refusal::Missing | Refusal::Wrong)) => return unauthorized(browser),
        Err(e) => return e.into_response(),
    };
    if !principal.scope().allows(need(&method, &path)) {
        return Error::Forbidden(format!(
            "This application password's scope ({}) does not allow this request.",
            principal.scope()
        ))
        .into_response();
    }
    let mut req = req;
    req.extensions_mut().insert::<Principal>(principal);
    next.run(req).await
}

/// Buffers the body; a non-empty one must be `application/json`.
async fn json_only(req: Request) -> Result<Request, Error> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_ADMIN_BODY)
        .await
        .map_err(|_| Error::PayloadTooLarge("The request body is too large.".into()))?;
    let content_type = header_str(&parts.headers, "content-type");
    if !bytes.is_empty() && !auth::is_json_content_type(content_type.as_deref()) {
        return Err(Error::UnsupportedMediaType(
            "Admin request bodies must be JSON (Content-Type: application/json).".into(),
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn unauthorized(browser: bool) -> Response {
    let mut resp = Error::Unauthorized.into_response();
    if browser {
        resp.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    resp
}

fn throttled(retry_after: i64) -> Response {
    let mut resp = Error::RateLimited.into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// What the signed-in caller may see of secrets, from the [`Principal`] the guard put on the
/// request (a request without one sees none).
#[derive(Clone, Copy, Debug)]
pub struct Viewer(pub auth::Disclosure);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Viewer(
            parts
                .extensions
                .get::<Principal>()
                .map_or(auth::Disclosure::Redacted, Principal::disclosure),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn needs_by_method_and_route() {
        let events = "/admin/events";
        assert_eq!(need(&Method::DELETE, "/admin/spaces/1"), Need::Change);
        assert_eq!(need(&Method::GET, "/admin/spaces"), Need::Read);
        assert_eq!(need(&Method::HEAD, "/admin/spaces"), Need::Read);
        assert_eq!(need(&Method::GET, events), Need::Read);
        assert_eq!(need(&Method::POST, events), Need::Publish);
        assert_eq!(need(&Method::POST, "/admin/events/"), Need::Publish);
        assert_eq!(need(&Method::POST, "/admin/spaces"), Need::Change);
        assert!(!auth::Scope::Read.allows(need(&Method::POST, events)));
        assert!(auth::Scope::Publish.allows(need(&Method::POST, events)));
        assert!(!auth::Scope::Publish.allows(need(&Method::GET, "/admin/spaces")));
        assert!(!auth::Scope::Publish.allows(need(&Method::POST, "/admin/spaces")));
        assert!(is_unsafe(&Method::PATCH) && !is_unsafe(&Method::GET));
    }
}
