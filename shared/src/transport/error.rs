//! The one place an [`Error`] becomes an HTTP response.
//!
//! Two shapes exist, both from the seeds:
//! - the admin API speaks WordPress REST: `{"code","message","data":{"status"}}`;
//! - the incoming webhook URL speaks `{"status":"failed","success":false,"message"}`.
//!
//! The fluent-crm alias uses its own codes for two cases (`invalid_webhook_url`,
//! `rest_post_invalid_id`); [`Flavor`] selects them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Code, Error};

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Locked(_) => StatusCode::LOCKED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Error::Invalid { .. } => StatusCode::BAD_REQUEST,
            Error::Conflict(_) | Error::IdempotencyConflict(_) => StatusCode::CONFLICT,
            Error::Dependency(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn log(&self) {
        if let Error::Dependency(detail) = self {
            tracing::error!(error = %detail, "dependency failed");
        }
    }

    /// The WordPress REST `code` for this error under an API flavor.
    pub fn wp_code(&self, flavor: Flavor) -> &'static str {
        match (self, flavor) {
            (Error::NotFound(_), Flavor::FluentCrm) => "rest_post_invalid_id",
            (Error::NotFound(_), _) => "not_found",
            (Error::Unauthorized | Error::Forbidden(_), _) => "rest_forbidden",
            (
                Error::Invalid {
                    code: Code::InvalidUrl,
                    ..
                },
                Flavor::FluentCrm,
            ) => "invalid_webhook_url",
            (
                Error::Invalid {
                    code: Code::InvalidUrl,
                    ..
                },
                _,
            ) => "invalid_url",
            (
                Error::Invalid {
                    code: Code::InvalidEvent,
                    ..
                },
                _,
            ) => "invalid_webhook_event",
            (
                Error::Invalid {
                    code: Code::InvalidParam,
                    ..
                },
                _,
            ) => "invalid_param",
            (
                Error::Invalid {
                    code: Code::InvalidJson,
                    ..
                },
                _,
            ) => "rest_invalid_json",
            (Error::MethodNotAllowed, _) => "rest_no_route",
            (Error::UnsupportedMediaType(_), _) => "rest_unsupported_media_type",
            (Error::PayloadTooLarge(_), _) => "payload_too_large",
            (Error::RateLimited, _) => "rest_rate_limited",
            (Error::Conflict(_), _) => "conflict",
            (Error::IdempotencyConflict(_), _) => "idempotency_conflict",
            (Error::Locked(_), _) => "locked",
            (Error::Dependency(_), _) => "service_unavailable",
        }
    }

    /// Renders the admin API's WordPress REST error.
    pub fn into_wp_response(self, flavor: Flavor) -> Response {
        self.log();
        let status = self.status();
        let message = match (&self, flavor) {
            (Error::NotFound(_), Flavor::FluentCrm) => "Invalid webhook ID.".to_string(),
            _ => self.to_string(),
        };
        let body = json!({"code": self.wp_code(flavor), "message": message, "data": {"status": status.as_u16()}});
        let mut resp = (status, axum::Json(body)).into_response();
        if matches!(self, Error::Unauthorized) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Switchboard admin\", charset=\"UTF-8\""),
            );
        }
        resp
    }

    /// Renders the incoming webhook URL's error.
    pub fn into_incoming_response(self) -> Response {
        self.log();
        let status = self.status();
        let body = json!({"status": "failed", "success": false, "message": self.to_string()});
        (status, axum::Json(body)).into_response()
    }
}

/// Which admin API dialect a route speaks (its error codes differ slightly).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flavor {
    #[default]
    Switchboard,
    FluentCommunity,
    FluentCrm,
}

/// Admin handlers return this; axum renders it in the admin shape.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let flavor = Flavor::Switchboard;
        let code = self.wp_code(Flavor::FluentCrm);
        let mut resp = self.into_wp_response(flavor);
        // Keep what the fluent-crm alias needs to re-label the error (see `relabel`).
        resp.extensions_mut().insert(CrmCode(code));
        resp
    }
}

#[derive(Clone, Copy)]
struct CrmCode(&'static str);

/// Middleware for the fluent-crm alias: the same errors under that seed's own codes.
pub async fn relabel_for_crm(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let resp = next.run(req).await;
    let Some(CrmCode(code)) = resp.extensions().get::<CrmCode>().copied() else {
        return resp;
    };
    let status = resp.status();
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("code".into(), json!(code));
        if code == "rest_post_invalid_id" {
            obj.insert("message".into(), json!("Invalid webhook ID."));
        }
    }
    let mut out = (status, axum::Json(value)).into_response();
    for (name, v) in parts.headers.iter() {
        if name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), v.clone());
        }
    }
    out
}
