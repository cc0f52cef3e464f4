//! Templates, rendered by `minijinja` in a sandbox: no file or network access (no loader, no
//! include/import), a fuel budget per render and a recursion limit, and a size limit on what
//! comes out.
//!
//! Every `{{ value }}` is escaped for where it lands, so event data cannot break out of it:
//! - JSON bodies: as the inside of a JSON string (`"Hi {{ xprofile.display_name }}"` is valid
//!   JSON whatever the name holds); `{{ value|tojson }}` writes a whole JSON value instead;
//! - HTML bodies: HTML-escaped; other bodies: as is;
//! - chat messages (`message_template`): escaped for the chat service, like the default
//!   messages (and `{{ message }}` is the default message itself).
//!
//! The template's own text is the operator's and passes unchanged (`|safe` opts a value out).

use std::fmt::Write as _;

use minijinja::value::{Serde, Value as Mj};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

use super::markup::{self, Chat};
use super::{message, EventContext, RenderError, MAX_BODY_BYTES};

/// Fuel of one render: minijinja charges instructions and the bytes values allocate, so a
/// template can neither loop nor grow strings without bound (a body is at most 128 KiB).
const FUEL: u64 = 2_000_000;
/// Nesting depth of loops, macros and calls.
const RECURSION_LIMIT: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Escape {
    Raw,
    Html,
    JsonString,
    Chat(Chat),
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a content type is JSON (`application/json`, `application/*+json`).
pub fn is_json(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn is_html(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence == "text/html" || essence.ends_with("/xml") || essence.ends_with("+xml")
}

fn environment(escape: Escape) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    // A field an event does not carry renders empty instead of failing the delivery.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    let auto = if escape == Escape::Html {
        AutoEscape::Html
    } else {
        AutoEscape::None
    };
    env.set_auto_escape_callback(move |_| auto.clone());
    env.set_formatter(move |out, state, value| {
        if value.is_undefined() || value.is_none() {
            return Ok(());
        }
        let text = match escape {
            Escape::Raw | Escape::Html => return minijinja::escape_formatter(out, state, value),
            _ if value.is_safe() => value.to_string(),
            Escape::JsonString => json_string_inner(&value.to_string()),
            Escape::Chat(chat) => markup::escape(chat, &value.to_string()),
        };
        out.write_str(&text)
            .map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))
    });
    env
}

/// `s` escaped as the inside of a JSON string.
fn json_string_inner(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

fn context(ctx: &EventContext, message: Option<String>) -> Mj {
    let description = crate::events::CATALOG
        .iter()
        .find(|(e, _, _)| *e == ctx.event)
        .map_or("", |(_, d, _)| d);
    minijinja::context! {
        event => ctx.event,
        description => description,
        timestamp => ctx.timestamp,
        webhook_id => ctx.webhook_id,
        delivery_id => ctx.delivery_id,
        data => Mj::from(Serde(ctx.data)),
        xprofile => Mj::from(Serde(ctx.xprofile)),
        message => message.map(Mj::from_safe_string),
    }
}

fn failure(field: &'static str, e: &minijinja::Error) -> RenderError {
    let mut reason = String::new();
    let _ = write!(reason, "{e}");
    RenderError {
        field,
        reason: crate::incoming::truncate(&reason, 300),
    }
}

/// The body of a `template` endpoint. A JSON content type must render valid JSON.
pub fn render_body(
    source: &str,
    content_type: &str,
    ctx: &EventContext,
) -> Result<String, RenderError> {
    let json = is_json(content_type);
    let escape = match (json, is_html(content_type)) {
        (true, _) => Escape::JsonString,
        (false, true) => Escape::Html,
        _ => Escape::Raw,
    };
    let body = environment(escape)
        .render_str(source, context(ctx, None))
        .map_err(|e| failure("template", &e))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(RenderError {
            field: "template",
            reason: format!("renders more than {} KiB", MAX_BODY_BYTES / 1024),
        });
    }
    if json {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&body) {
            return Err(RenderError {
                field: "template",
                reason: format!(
                    "does not render valid JSON ({e}); write whole values with |tojson, e.g. {{{{ data|tojson }}}}"
                ),
            });
        }
    }
    Ok(body)
}

/// A chat message from the endpoint's `message_template`, escaped for `chat`.
pub fn render_message(source: &str, chat: Chat, ctx: &EventContext) -> Result<String, RenderError> {
    let default = markup::render(chat, &message::default_message(ctx));
    let text = environment(Escape::Chat(chat))
        .render_str(source, context(ctx, Some(default)))
        .map_err(|e| failure("message_template", &e))?;
    if text.trim().is_empty() {
        return Err(RenderError {
            field: "message_template",
            reason: "renders an empty message".into(),
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn ctx<'a>(data: &'a Value, x: Option<&'a Value>) -> EventContext<'a> {
        EventContext {
            event: "feed.created",
            timestamp: "2024-01-15T10:30:00Z",
            webhook_id: 3,
            delivery_id: "01HQ3Z9X4K8M2N5P7R9T1V3W5Y",
            data,
            xprofile: x,
        }
    }

    #[test]
    fn json_bodies_escape_values_inside_strings() {
        let data = json!({"title": "Say \"hi\"\n\\ <b>", "id": 5, "tags": ["a", "b"]});
        let x = json!({"display_name": "Jane \"JD\" Doe"});
        let src = r#"{"subject": "New post by {{ xprofile.display_name }}: {{ data.title }}", "id": {{ data.id }}, "tags": {{ data.tags|tojson }}, "missing": "{{ data.nope.deeper }}", "e": {{ event|tojson }}}"#;
        let body = render_body(src, "application/json", &ctx(&data, Some(&x))).unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["subject"],
            "New post by Jane \"JD\" Doe: Say \"hi\"\n\\ <b>"
        );
        assert_eq!(v["id"], 5);
        assert_eq!(v["tags"], json!(["a", "b"]));
        assert_eq!(v["missing"], "");
        assert_eq!(v["e"], "feed.created");
    }

    #[test]
    fn injection_cannot_add_fields() {
        let data = json!({"title": "x\", \"to\": \"evil@example.com"});
        let body = render_body(
            r#"{"s": "{{ data.title }}"}"#,
            "application/json",
            &ctx(&data, None),
        )
        .unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1);
    }

    #[test]
    fn invalid_json_and_broken_templates_fail() {
        let data = json!({"title": "t"});
        let e = render_body(
            r#"{"s": {{ data.title }}}"#,
            "application/json",
            &ctx(&data, None),
        )
        .unwrap_err();
        assert_eq!(e.field, "template");
        assert!(e.reason.contains("JSON"), "{}", e.reason);
        assert!(render_body("{% for %}", "text/plain", &ctx(&data, None)).is_err());
        assert!(render_body("{% include 'x' %}", "text/plain", &ctx(&data, None)).is_err());
    }

    #[test]
    fn plain_text_and_html() {
        let data = json!({"title": "<b>&"});
        assert_eq!(
            render_body("T: {{ data.title }}", "text/plain", &ctx(&data, None)).unwrap(),
            "T: <b>&"
        );
        assert_eq!(
            render_body("T: {{ data.title }}", "text/html", &ctx(&data, None)).unwrap(),
            "T: &lt;b&gt;&amp;"
        );
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let data = json!({});
        let src = "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}";
        assert!(render_body(src, "text/plain", &ctx(&data, None)).is_err());
        let deep = "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}";
        assert!(render_body(deep, "text/plain", &ctx(&data, None)).is_err());
    }

    #[test]
    fn messages_escape_for_the_chat() {
        let data = json!({"title": "<!channel> @everyone"});
        let x = json!({"display_name": "Bob"});
        let c = ctx(&data, Some(&x));
        let slack = render_message(
            "*{{ xprofile.display_name }}*: {{ data.title }} <https://x.example|link>",
            Chat::Slack,
            &c,
        )
        .unwrap();
        assert_eq!(
            slack,
            "*Bob*: &lt;!channel&gt; @\u{200B}everyone <https://x.example|link>"
        );
        let discord = render_message(":tada: {{ message }}", Chat::Discord, &c).unwrap();
        assert!(discord.starts_with(":tada: **Bob** posted"), "{discord}");
        assert!(!discord.contains("@everyone"));
        let e = render_message("{% if false %}x{% endif %}", Chat::Slack, &c).unwrap_err();
        assert_eq!(e.field, "message_template");
    }
}
