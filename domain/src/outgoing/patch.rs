//! Admin input for an endpoint (docs/reference/outgoing.md#endpoints), validated field by field.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::filter::Filter;
use super::rate::{MAX_RATE, MIN_RATE};
use super::signing::header;
use super::{
    Ordering, OutgoingConfig, OutgoingStatus, DEFAULT_OVERLAP_SECONDS, MAX_OVERLAP_SECONDS,
};
use crate::egress::check_url;
use crate::error::{Error, Result};
use crate::events::EventPattern;
use crate::fields::{clearable, object_of, one_of, optional, string_field};
use crate::incoming::truncate;

/// Admin input for an endpoint, validated field by field.
#[derive(Clone, Default, Serialize)]
pub struct OutgoingPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<EventPattern>>,
    /// Only `active` or `inactive`: `failed` is the deliveries' to set.
    pub status: Option<OutgoingStatus>,
    pub secret: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub retry_count: Option<u32>,
    pub ordering: Option<Ordering>,
    /// `Some(None)` clears the filter.
    pub filter: Option<Option<Filter>>,
    /// `Some(None)` clears the throttle.
    pub rate_limit: Option<Option<u32>>,
}

// The signing secret and custom header values read `[redacted]`.
crate::redact::redacted_debug!(OutgoingPatch);

impl OutgoingPatch {
    /// Validates an admin JSON body. `creating` requires `name`, `url` and `events`;
    /// `local_mode` also allows `http://` and loopback URLs.
    pub fn from_json(body: &Map<String, Value>, creating: bool, local_mode: bool) -> Result<Self> {
        let name = string_field(body, "name", 200)?;
        let url = url_field(body, creating, local_mode)?;
        if creating && name.is_none() {
            return Err(Error::invalid("name", "is required"));
        }
        Ok(Self {
            name,
            url,
            events: events_field(body, creating)?,
            status: one_of(
                body,
                "status",
                &[
                    ("active", OutgoingStatus::Active),
                    ("inactive", OutgoingStatus::Inactive),
                    ("paused", OutgoingStatus::Paused),
                ],
                "must be active, inactive or paused",
            )?,
            secret: optional(body, "secret", signing_secret)?,
            headers: clearable(body, "headers", custom_headers)?,
            retry_count: optional(body, "retry_count", retry_count)?,
            ordering: optional(body, "ordering", ordering)?,
            rate_limit: clearable(body, "rate_limit", |v| rate_limit(v).map(Some))?,
            filter: clearable(body, "filter", |v| {
                Filter::parse(v)
                    .map(Some)
                    .map_err(|e| Error::invalid("filter", e.0))
            })?,
        })
    }

    pub fn apply(self, c: &mut OutgoingConfig) {
        if let Some(v) = self.name {
            c.name = v;
        }
        if let Some(v) = self.url {
            c.url = v;
        }
        if let Some(v) = self.events {
            c.events = v;
        }
        if let Some(v) = self.secret {
            c.secret = v;
        }
        if let Some(v) = self.headers {
            c.headers = v;
        }
        if let Some(v) = self.retry_count {
            c.retry_count = v;
        }
        if let Some(v) = self.ordering {
            c.ordering = v;
        }
        if let Some(v) = self.rate_limit {
            c.rate_limit = v;
        }
        if let Some(v) = self.filter {
            c.filter = v;
        }
    }
}

/// `url`: required on create; an address deliveries may go to (see [`check_url`]).
fn url_field(
    body: &Map<String, Value>,
    creating: bool,
    local_mode: bool,
) -> Result<Option<String>> {
    match body.get("url") {
        None if creating => Err(Error::bad_url("Webhook URL is required.")),
        None => Ok(None),
        Some(Value::String(u)) => check_url(u.trim(), local_mode).map(Some),
        Some(_) => Err(Error::bad_url("Webhook URL must be a valid HTTPS URL.")),
    }
}

/// `events`: required on create; a non-empty list of event patterns, each kept once.
fn events_field(body: &Map<String, Value>, creating: bool) -> Result<Option<Vec<EventPattern>>> {
    let items = match body.get("events") {
        None if creating => {
            return Err(Error::invalid(
                "events",
                "is required (a list of event types)",
            ))
        }
        None => return Ok(None),
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(_) => {
            return Err(Error::invalid(
                "events",
                "must be a non-empty list of event types",
            ))
        }
    };
    let mut out: Vec<EventPattern> = Vec::new();
    for item in items {
        let e = item
            .as_str()
            .ok_or_else(|| Error::invalid("events", "must be a list of event type strings"))?;
        let pattern = EventPattern::parse(e).ok_or_else(|| Error::bad_event(&truncate(e, 80)))?;
        if !out.contains(&pattern) {
            out.push(pattern);
        }
    }
    Ok(Some(out))
}

/// `secret`: 8 to 256 characters, none of them a control character.
fn signing_secret(v: &Value) -> Result<String> {
    match v {
        Value::String(s) if (8..=256).contains(&s.len()) && !s.chars().any(char::is_control) => {
            Ok(s.clone())
        }
        _ => Err(Error::invalid(
            "secret",
            "must be a string of 8 to 256 characters",
        )),
    }
}

/// `headers`: at most 20 custom headers (see [`custom_header`]).
fn custom_headers(v: &Value) -> Result<BTreeMap<String, String>> {
    if v.as_object().is_some_and(|m| m.len() > 20) {
        return Err(Error::invalid("headers", "at most 20 custom headers"));
    }
    object_of(
        "headers",
        v,
        "must be an object of header names to values",
        custom_header,
    )
}

/// One custom header's value: a valid HTTP header (name up to 256 bytes, value up to 4 KiB),
/// not one of [`RESERVED`].
fn custom_header(name: &str, v: &Value) -> Result<String> {
    let value = v.as_str().ok_or_else(|| {
        Error::invalid(
            "headers",
            format!("'{}' must have a string value", truncate(name, 40)),
        )
    })?;
    let name_ok = name.len() <= 256 && http::HeaderName::from_bytes(name.as_bytes()).is_ok();
    let value_ok = http::HeaderValue::from_str(value).is_ok() && value.len() <= 4096;
    if !name_ok || !value_ok {
        return Err(Error::invalid(
            "headers",
            format!("'{}' is not a valid header", truncate(name, 40)),
        ));
    }
    if header::is_reserved(name) {
        return Err(Error::invalid(
            "headers",
            format!("'{name}' is set by Switchboard and cannot be overridden"),
        ));
    }
    Ok(value.to_string())
}

/// A rotation's `overlap_seconds`: 0 to 7 days, 24 h when absent
/// (docs/reference/outgoing.md#filters-and-secret-rotation).
pub fn overlap_seconds(body: &Map<String, Value>) -> Result<i64> {
    optional(body, "overlap_seconds", |v| {
        v.as_i64()
            .filter(|n| (0..=MAX_OVERLAP_SECONDS).contains(n))
            .ok_or_else(|| {
                Error::invalid(
                    "overlap_seconds",
                    format!("must be an integer from 0 to {MAX_OVERLAP_SECONDS}"),
                )
            })
    })
    .map(|v| v.unwrap_or(DEFAULT_OVERLAP_SECONDS))
}

/// `retry_count`: 0 to 5, as a number or a numeric string.
fn retry_count(v: &Value) -> Result<u32> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .filter(|n| *n <= 5)
        .map(|n| n as u32)
        .ok_or_else(|| Error::invalid("retry_count", "must be an integer from 0 to 5"))
}

/// `rate_limit`: an integer of deliveries per second, 1–1,000.
fn rate_limit(v: &Value) -> Result<u32> {
    v.as_u64()
        .filter(|n| (u64::from(MIN_RATE)..=u64::from(MAX_RATE)).contains(n))
        .map(|n| n as u32)
        .ok_or_else(|| {
            Error::invalid(
                "rate_limit",
                "must be an integer from 1 to 1000 (deliveries per second), or null",
            )
        })
}

/// `ordering`: `none` or `fifo`.
fn ordering(v: &Value) -> Result<Ordering> {
    serde_json::from_value(v.clone())
        .map_err(|_| Error::invalid("ordering", "must be none or fifo"))
}
