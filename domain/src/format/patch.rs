//! Admin input for an endpoint's format fields, and the checks made when it is saved.

use serde_json::{Map, Value};
use strum::IntoEnumIterator;

use super::{render, sample, Destination, EventContext, Format};
use crate::error::{Error, Result};
use crate::events::{EventName, EventPattern, CATALOG};

/// Longest `message_template` (characters) and `template` (bytes).
pub const MAX_MESSAGE_TEMPLATE: usize = 4_000;
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;

/// The format fields of a create or partial update; `Some(None)` clears a field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DestinationPatch {
    pub format: Option<Format>,
    pub message_template: Option<Option<String>>,
    pub template: Option<Option<String>>,
    pub content_type: Option<Option<String>>,
}

/// An optional text field: absent, cleared (`null` or empty) or set (at most `max`).
fn text(
    body: &Map<String, Value>,
    field: &str,
    max: usize,
    len: fn(&str) -> usize,
) -> Result<Option<Option<String>>> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Value::String(s)) if len(s) <= max => Ok(Some(Some(s.clone()))),
        Some(Value::String(_)) => Err(Error::invalid(field, format!("must be at most {max} long"))),
        Some(_) => Err(Error::invalid(field, "must be a string")),
    }
}

/// `type/subtype` with optional parameters, e.g. `text/plain; charset=utf-8`.
pub fn is_media_type(s: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    let essence = s.split(';').next().unwrap_or_default().trim();
    let ok = essence
        .split_once('/')
        .is_some_and(|(t, sub)| token(t) && token(sub));
    ok && s.len() <= 200 && http::HeaderValue::from_str(s).is_ok()
}

impl DestinationPatch {
    pub fn from_json(body: &Map<String, Value>) -> Result<Self> {
        let format = match body.get("format") {
            None => None,
            Some(Value::Null) => Some(Format::Standard),
            Some(Value::String(s)) => Some(s.trim().parse::<Format>().map_err(|_| {
                let all: Vec<&str> = Format::iter().map(<&str>::from).collect();
                Error::invalid("format", format!("must be one of {}", all.join(", ")))
            })?),
            Some(_) => return Err(Error::invalid("format", "must be a string")),
        };
        let content_type = match text(body, "content_type", 200, str::len)? {
            Some(Some(ct)) if !is_media_type(ct.trim()) => {
                return Err(Error::invalid(
                    "content_type",
                    "must be a media type such as application/json or text/plain",
                ))
            }
            other => other.map(|o| o.map(|ct| ct.trim().to_string())),
        };
        Ok(Self {
            format,
            message_template: text(body, "message_template", MAX_MESSAGE_TEMPLATE, |s| {
                s.chars().count()
            })?,
            template: text(body, "template", MAX_TEMPLATE_BYTES, str::len)?,
            content_type,
        })
    }

    /// Whether the patch touches no format field.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Applies the patch. When creating (`detect_from` is the new URL) and no format is given,
    /// a known chat webhook URL chooses its format.
    pub fn apply(self, d: &mut Destination, detect_from: Option<&str>) {
        match (self.format, detect_from.and_then(Format::detect)) {
            (Some(f), _) => d.format = f,
            (None, Some(f)) => d.format = f,
            (None, None) => {}
        }
        if let Some(v) = self.message_template {
            d.message_template = v;
        }
        if let Some(v) = self.template {
            d.template = v;
        }
        if let Some(v) = self.content_type {
            d.content_type = v;
        }
    }
}

/// The catalog events a subscription list covers (in catalog order).
fn covered(events: &[EventPattern]) -> Vec<&'static str> {
    CATALOG
        .iter()
        .filter_map(|(e, _, _)| EventName::parse(e))
        .filter(|e| events.iter().any(|p| p.matches(*e)))
        .map(EventName::as_str)
        .collect()
}

/// The save-time checks: a `template` endpoint has a template; every template the endpoint
/// holds renders for a sample of each event it subscribes to, and a JSON
/// template renders valid JSON. Errors name the field.
pub fn validate(d: &Destination, events: &[EventPattern]) -> Result<()> {
    if d.format == Format::Template && d.template.is_none() {
        return Err(Error::invalid(
            "template",
            "is required when format is template",
        ));
    }
    let mut checks: Vec<Destination> = Vec::new();
    if d.template.is_some() {
        checks.push(Destination {
            format: Format::Template,
            ..d.clone()
        });
    }
    if d.message_template.is_some() {
        let chat = if d.format.chat().is_some() {
            d.format
        } else {
            Format::Slack
        };
        checks.push(Destination {
            format: chat,
            ..d.clone()
        });
    }
    let mut names = covered(events);
    if names.is_empty() {
        names.push("webhook.test");
    }
    for check in &checks {
        for event in &names {
            render_sample(check, event, 1).map_err(|e| {
                Error::invalid(e.field, format!("{} (sample {event} event)", e.reason))
            })?;
        }
    }
    Ok(())
}

/// `dest` rendered for a sample `event`.
pub fn render_sample(
    dest: &Destination,
    event: &str,
    webhook_id: i64,
) -> std::result::Result<super::Rendered, super::RenderError> {
    let (data, xprofile) = sample::sample(event);
    render(
        dest,
        &sample_context(event, webhook_id, &data, xprofile.as_ref()),
    )
}

/// A sample event's context: the fixed time and delivery id the preview shows.
pub fn sample_context<'a>(
    event: &'a str,
    webhook_id: i64,
    data: &'a Value,
    xprofile: Option<&'a Value>,
) -> EventContext<'a> {
    EventContext {
        event,
        timestamp: "2024-01-15T10:30:00Z",
        webhook_id,
        delivery_id: "01HQ3Z9X4K8M2N5P7R9T1V3W5Y",
        data,
        xprofile,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(v: Value) -> Result<DestinationPatch> {
        DestinationPatch::from_json(v.as_object().unwrap())
    }

    #[test]
    fn parsing() {
        assert!(patch(json!({})).unwrap().is_empty());
        assert_eq!(
            patch(json!({"format": "slack"})).unwrap().format,
            Some(Format::Slack)
        );
        for (bad, field) in [
            (json!({"format": "teams"}), "format"),
            (json!({"format": 1}), "format"),
            (json!({"template": 5}), "template"),
            (json!({"template": "x".repeat(20_000)}), "template"),
            (json!({"content_type": "json"}), "content_type"),
            (json!({"content_type": "text/plain\u{1}"}), "content_type"),
        ] {
            let e = patch(bad.clone()).unwrap_err().to_string();
            assert!(e.contains(field), "{bad}: {e}");
        }
        let p = patch(json!({"content_type": " text/plain; charset=utf-8 ", "template": null}))
            .unwrap();
        assert_eq!(
            p.content_type,
            Some(Some("text/plain; charset=utf-8".into()))
        );
        assert_eq!(p.template, Some(None));
    }

    #[test]
    fn detection_only_without_a_format() {
        let mut d = Destination::default();
        DestinationPatch::default().apply(&mut d, Some("https://hooks.slack.com/services/x"));
        assert_eq!(d.format, Format::Slack);
        let mut d = Destination::default();
        patch(json!({"format": "standard"}))
            .unwrap()
            .apply(&mut d, Some("https://hooks.slack.com/services/x"));
        assert_eq!(d.format, Format::Standard);
    }

    #[test]
    fn save_time_checks_name_the_field() {
        let events = vec![EventPattern::parse("feed.*").unwrap()];
        let mut d = Destination {
            format: Format::Template,
            ..Default::default()
        };
        assert!(validate(&d, &events)
            .unwrap_err()
            .to_string()
            .contains("template"));
        d.template = Some(r#"{"text": {{ data.title|tojson }}}"#.into());
        validate(&d, &events).unwrap();
        d.template = Some("{% if %}".into());
        assert!(validate(&d, &events)
            .unwrap_err()
            .to_string()
            .contains("template"));
        d.template = Some(r#"{"text": {{ data.title }}}"#.into());
        let e = validate(&d, &events).unwrap_err().to_string();
        assert!(e.contains("template") && e.contains("JSON"), "{e}");
        d.content_type = Some("text/plain".into());
        validate(&d, &events).unwrap();
        let chat = Destination {
            format: Format::Discord,
            message_template: Some("{{ nope(".into()),
            ..Default::default()
        };
        assert!(validate(&chat, &events)
            .unwrap_err()
            .to_string()
            .contains("message_template"));
    }
}
