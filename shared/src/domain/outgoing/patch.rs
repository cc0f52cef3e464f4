//! Admin input for an endpoint (SPEC §6.4), validated field by field.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{EndpointConfig, EndpointStatus, Ordering};
use crate::domain::egress::check_url;
use crate::domain::events::is_valid_pattern;
use crate::domain::fields::string_field;
use crate::domain::incoming::truncate;
use crate::error::{Error, Result};

/// Admin input for an endpoint, validated field by field.
#[derive(Clone, Default, Serialize)]
pub struct EndpointPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// Only `active` or `inactive`: `failed` is the deliveries' to set.
    pub status: Option<EndpointStatus>,
    pub secret: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub retry_count: Option<u32>,
    pub ordering: Option<Ordering>,
}

// The signing secret and custom header values read `[redacted]`.
crate::redacted_debug!(EndpointPatch);

/// Headers an endpoint may not set: they carry the signature, identify the delivery or belong
/// to the transport.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "user-agent",
    "x-fluent-signature",
    "x-fluentcrm-signature",
    "x-fluentcrm-event",
    "x-fluentcrm-webhook-id",
    "x-fluentcrm-delivery",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

impl EndpointPatch {
    pub fn from_json(body: &Map<String, Value>, creating: bool, local_mode: bool) -> Result<Self> {
        let name = string_field(body, "name", 200)?;
        let url = match body.get("url") {
            None if creating => return Err(Error::bad_url("Webhook URL is required.")),
            None => None,
            Some(Value::String(u)) => Some(check_url(u.trim(), local_mode)?),
            Some(_) => return Err(Error::bad_url("Webhook URL must be a valid HTTPS URL.")),
        };
        if creating && name.is_none() {
            return Err(Error::invalid("name", "is required"));
        }
        let events = match body.get("events") {
            None if creating => {
                return Err(Error::invalid(
                    "events",
                    "is required (a list of event types)",
                ))
            }
            None => None,
            Some(Value::Array(items)) if !items.is_empty() => {
                let mut out: Vec<String> = Vec::new();
                for item in items {
                    let e = item.as_str().ok_or_else(|| {
                        Error::invalid("events", "must be a list of event type strings")
                    })?;
                    if !is_valid_pattern(e) {
                        return Err(Error::bad_event(&truncate(e, 80)));
                    }
                    if !out.iter().any(|x| x == e) {
                        out.push(e.to_string());
                    }
                }
                Some(out)
            }
            Some(_) => {
                return Err(Error::invalid(
                    "events",
                    "must be a non-empty list of event types",
                ))
            }
        };
        let status = match string_field(body, "status", 20)? {
            Some(s) if s == "active" => Some(EndpointStatus::Active),
            Some(s) if s == "inactive" => Some(EndpointStatus::Inactive),
            Some(_) => return Err(Error::invalid("status", "must be active or inactive")),
            None => None,
        };
        let secret = match body.get("secret") {
            None | Some(Value::Null) => None,
            Some(Value::String(s))
                if (8..=256).contains(&s.len()) && !s.chars().any(char::is_control) =>
            {
                Some(s.clone())
            }
            Some(_) => {
                return Err(Error::invalid(
                    "secret",
                    "must be a string of 8 to 256 characters",
                ))
            }
        };
        let headers = match body.get("headers") {
            None => None,
            Some(Value::Null) => Some(BTreeMap::new()),
            Some(Value::Object(m)) => {
                if m.len() > 20 {
                    return Err(Error::invalid("headers", "at most 20 custom headers"));
                }
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    let value = v.as_str().ok_or_else(|| {
                        Error::invalid(
                            "headers",
                            format!("'{}' must have a string value", truncate(k, 40)),
                        )
                    })?;
                    let name_ok = http::HeaderName::from_bytes(k.as_bytes()).is_ok();
                    let value_ok =
                        http::HeaderValue::from_str(value).is_ok() && value.len() <= 4096;
                    if !name_ok || !value_ok {
                        return Err(Error::invalid(
                            "headers",
                            format!("'{}' is not a valid header", truncate(k, 40)),
                        ));
                    }
                    if RESERVED.contains(&k.to_ascii_lowercase().as_str()) {
                        return Err(Error::invalid(
                            "headers",
                            format!("'{k}' is set by Switchboard and cannot be overridden"),
                        ));
                    }
                    out.insert(k.clone(), value.to_string());
                }
                Some(out)
            }
            Some(_) => {
                return Err(Error::invalid(
                    "headers",
                    "must be an object of header names to values",
                ))
            }
        };
        let retry_count = match body.get("retry_count") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .filter(|n| *n <= 5)
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        Error::invalid("retry_count", "must be an integer from 0 to 5")
                    })?,
            ),
        };
        Ok(Self {
            name,
            url,
            events,
            status,
            secret,
            headers,
            retry_count,
            ordering: Ordering::parse(body)?,
        })
    }

    pub fn apply(self, c: &mut EndpointConfig) {
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
    }
}

impl Ordering {
    fn parse(body: &Map<String, Value>) -> Result<Option<Self>> {
        match body.get("ordering") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|_| Error::invalid("ordering", "must be none or fifo")),
        }
    }
}
