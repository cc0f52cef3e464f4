//! Destination formats (docs/reference/formats.md): what body an endpoint receives for an event.
//!
//! - `standard`: the signed JSON envelope of §6.3 ([`standard::payload`]), byte for byte;
//! - `slack`, `discord`, `google_chat`: a one-line message for people ([`message`]), with the
//!   member-supplied text escaped for that service ([`markup`]), or the endpoint's
//!   `message_template`;
//! - `template`: the endpoint's own template rendered with the event ([`template`]).
//!
//! Everything here is pure: the app layer signs and sends what [`render`] returns.

pub mod markup;
pub mod message;
pub mod patch;
pub mod sample;
pub mod standard;
pub mod template;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::events::Event;

pub use patch::DestinationPatch;

/// The content type of every body but a template's.
pub const JSON: &str = "application/json";

/// Largest body a template may render (the body is stored with the delivery in one DynamoDB
/// item, at most 400 KB, together with its attempts).
pub const MAX_BODY_BYTES: usize = 128 * 1024;

crate::wire_enum! {
    #[wire = "snake_case"]
    /// How an endpoint's deliveries are written.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum Format {
        #[default]
        Standard,
        Slack,
        Discord,
        GoogleChat,
        Template,
    }
}

impl Format {
    /// The chat service this format writes for, if any.
    pub fn chat(self) -> Option<markup::Chat> {
        match self {
            Format::Slack => Some(markup::Chat::Slack),
            Format::Discord => Some(markup::Chat::Discord),
            Format::GoogleChat => Some(markup::Chat::GoogleChat),
            Format::Standard | Format::Template => None,
        }
    }

    /// The format a known chat webhook URL calls for: `hooks.slack.com`,
    /// `discord.com`/`discordapp.com` under `/api/webhooks/` (or `/api/v10/webhooks/`), and
    /// `chat.googleapis.com`.
    pub fn detect(url: &str) -> Option<Format> {
        let url = url::Url::parse(url).ok()?;
        let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
        let path = url.path();
        let discord_path = path.starts_with("/api/webhooks/")
            || path.strip_prefix("/api/v").is_some_and(|rest| {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                digits > 0 && rest[digits..].starts_with("/webhooks/")
            });
        match host.as_str() {
            "hooks.slack.com" => Some(Format::Slack),
            "discord.com" | "discordapp.com" | "ptb.discord.com" | "canary.discord.com"
                if discord_path =>
            {
                Some(Format::Discord)
            }
            "chat.googleapis.com" => Some(Format::GoogleChat),
            _ => None,
        }
    }
}

/// An endpoint's format settings (stored with its configuration).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    #[serde(default)]
    pub format: Format,
    /// Replaces the default message of the chat formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,
    /// The body of the `template` format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The `template` format's content type (default `application/json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

impl Destination {
    /// The content type deliveries are sent with.
    pub fn content_type(&self) -> &str {
        match (self.format, &self.content_type) {
            (Format::Template, Some(ct)) => ct,
            _ => JSON,
        }
    }
}

/// What one event looks like to a format.
#[derive(Clone, Copy, Debug)]
pub struct EventContext<'a> {
    pub event: &'a str,
    pub timestamp: &'a str,
    pub webhook_id: i64,
    pub delivery_id: &'a str,
    pub data: &'a Value,
    pub xprofile: Option<&'a Value>,
}

impl<'a> EventContext<'a> {
    /// What a format renders for one endpoint's delivery of `event`.
    pub fn of(
        event: &'a Event,
        webhook_id: i64,
        delivery_id: &'a str,
        xprofile: Option<&'a Value>,
    ) -> Self {
        Self {
            event: event.event.as_str(),
            timestamp: &event.timestamp,
            webhook_id,
            delivery_id,
            data: &event.data,
            xprofile,
        }
    }

    /// The `standard` payload of docs/reference/outgoing.md#the-delivery as a JSON value (what an
    /// endpoint's filter reads, whatever format the endpoint receives).
    pub fn payload_json(&self) -> Value {
        let mut v = serde_json::json!({
            "event": self.event,
            "timestamp": self.timestamp,
            "webhook_id": self.webhook_id,
            "delivery_id": self.delivery_id,
            "data": self.data,
        });
        if let Some(x) = self.xprofile {
            v["xprofile"] = x.clone();
        }
        v
    }
}

/// A body ready to be signed and sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    pub body: String,
    pub content_type: String,
}

/// Why a body could not be rendered, naming the endpoint field at fault.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderError {
    pub field: &'static str,
    pub reason: String,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// The body `dest` calls for.
pub fn render(dest: &Destination, ctx: &EventContext) -> Result<Rendered, RenderError> {
    let body = match dest.format {
        Format::Standard => standard::payload(
            ctx.event,
            ctx.timestamp,
            ctx.webhook_id,
            ctx.delivery_id,
            ctx.data,
            ctx.xprofile,
        ),
        Format::Template => {
            let source = dest.template.as_deref().ok_or_else(|| RenderError {
                field: "template",
                reason: "is required when format is template".into(),
            })?;
            template::render_body(source, dest.content_type(), ctx)?
        }
        chat => {
            let chat = chat.chat().unwrap_or(markup::Chat::Slack);
            let text = match dest.message_template.as_deref() {
                Some(source) => template::render_message(source, chat, ctx)?,
                None => markup::render(chat, &message::default_message(ctx)),
            };
            chat_body(chat, &text)
        }
    };
    Ok(Rendered {
        body,
        content_type: dest.content_type().to_string(),
    })
}

/// The JSON a chat webhook accepts, around an already escaped message.
fn chat_body(chat: markup::Chat, text: &str) -> String {
    let text = markup::truncate(text.trim(), chat.max_chars());
    let text = if text.is_empty() {
        "(empty message)"
    } else {
        text.as_str()
    };
    let v = match chat {
        markup::Chat::Slack | markup::Chat::GoogleChat => json!({ "text": text }),
        // `allowed_mentions` is a second line of defence: nothing in the message can ping.
        markup::Chat::Discord => json!({ "content": text, "allowed_mentions": {"parse": []} }),
    };
    super::json::to_js_string(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_known_chat_webhooks() {
        let cases = [
            (
                "https://hooks.slack.com/services/T0/B0/XX",
                Some(Format::Slack),
            ),
            ("https://HOOKS.SLACK.COM./services/x", Some(Format::Slack)),
            (
                "https://discord.com/api/webhooks/1/abc",
                Some(Format::Discord),
            ),
            (
                "https://discordapp.com/api/webhooks/1/abc",
                Some(Format::Discord),
            ),
            (
                "https://discord.com/api/v10/webhooks/1/abc",
                Some(Format::Discord),
            ),
            ("https://discord.com/channels/1", None),
            (
                "https://chat.googleapis.com/v1/spaces/A/messages?key=k",
                Some(Format::GoogleChat),
            ),
            ("https://api.sendgrid.com/v3/mail/send", None),
            ("https://slack.com.evil.example/services/x", None),
            ("not a url", None),
        ];
        for (url, want) in cases {
            assert_eq!(Format::detect(url), want, "{url}");
        }
    }

    #[test]
    fn formats_serialize_as_snake_case() {
        assert_eq!(json!(Format::GoogleChat), json!("google_chat"));
        crate::wire::assert_names::<Format>(&[
            "standard",
            "slack",
            "discord",
            "google_chat",
            "template",
        ]);
        let d: Destination = serde_json::from_value(json!({})).unwrap();
        assert_eq!(d, Destination::default());
        assert_eq!(d.content_type(), JSON);
    }

    fn ctx<'a>(event: &'a str, data: &'a Value, x: Option<&'a Value>) -> EventContext<'a> {
        EventContext {
            event,
            timestamp: "2024-01-15T10:30:00Z",
            webhook_id: 7,
            delivery_id: "01HQ3Z9X4K8M2N5P7R9T1V3W5Y",
            data,
            xprofile: x,
        }
    }

    #[test]
    fn standard_is_the_envelope() {
        let data = json!({"id": 1});
        let r = render(&Destination::default(), &ctx("feed.created", &data, None)).unwrap();
        assert_eq!(
            r.body,
            standard::payload(
                "feed.created",
                "2024-01-15T10:30:00Z",
                7,
                "01HQ3Z9X4K8M2N5P7R9T1V3W5Y",
                &data,
                None
            )
        );
        assert_eq!(r.content_type, JSON);
    }

    #[test]
    fn chat_bodies() {
        let data = json!({"title": "Hello <b> & @everyone"});
        let x = json!({"display_name": "<!channel> @here"});
        for (format, key) in [
            (Format::Slack, "text"),
            (Format::Discord, "content"),
            (Format::GoogleChat, "text"),
        ] {
            let dest = Destination {
                format,
                ..Default::default()
            };
            let r = render(&dest, &ctx("feed.created", &data, Some(&x))).unwrap();
            let v: Value = serde_json::from_str(&r.body).unwrap();
            let text = v[key].as_str().unwrap();
            assert!(!text.is_empty());
            for bad in ["<!channel>", "@here", "@everyone", "<b>"] {
                assert!(!text.contains(bad), "{format:?}: {text}");
            }
            if format == Format::Discord {
                assert_eq!(v["allowed_mentions"], json!({"parse": []}));
            }
        }
    }

    #[test]
    fn discord_is_at_most_2000_characters() {
        let long = "é".repeat(5000);
        let data = json!({ "title": long });
        let dest = Destination {
            format: Format::Discord,
            message_template: Some("{{ data.title }}{{ data.title }}".into()),
            ..Default::default()
        };
        let r = render(&dest, &ctx("feed.created", &data, None)).unwrap();
        let v: Value = serde_json::from_str(&r.body).unwrap();
        let text = v["content"].as_str().unwrap();
        assert!(text.encode_utf16().count() <= 2000);
        assert!(text.ends_with('…'));
    }
}
