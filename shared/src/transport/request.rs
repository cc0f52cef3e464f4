//! What the transport reads off a request: source IP, JSON bodies, query parameters.

use std::net::IpAddr;

use axum::http::HeaderMap;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The caller's IP as API Gateway (or the local emulator) saw it.
pub fn source_ip<B>(req: &http::Request<B>) -> Option<IpAddr> {
    let ip = match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    ip.and_then(|s| s.parse().ok())
}

pub fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// An admin JSON body: empty means `{}`; anything but an object is a `400`.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::bad_json("the JSON body must be an object")),
        Err(e) => Err(Error::bad_json(format!(
            "invalid JSON at line {} column {}",
            e.line(),
            e.column()
        ))),
    }
}
