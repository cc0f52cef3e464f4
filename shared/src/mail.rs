//! SES: the welcome email for members created by an incoming webhook.
//!
//! Subject and body come from compile-time templates (`shared/templates/`, HTML-escaped by
//! askama) filled with the site name, the portal URL and the member's name and login. The
//! password is never part of any email.

use askama::Template;
use aws_sdk_ses::types::{Body, Content, Destination, Message};

use crate::aws::OrUnavailable;
use crate::config::Config;
use crate::domain::member::Member;
use crate::error::{Error, Result};

/// What the welcome email says, in both of its forms.
struct Welcome<'a> {
    site_name: &'a str,
    portal_url: &'a str,
    display_name: &'a str,
    login: &'a str,
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomeHtml<'a> {
    w: &'a Welcome<'a>,
}

#[derive(Template)]
#[template(path = "welcome.txt")]
struct WelcomeText<'a> {
    w: &'a Welcome<'a>,
}

/// What the operator's "endpoint disabled" notice says, in both of its forms.
struct Disabled<'a> {
    site_name: &'a str,
    name: &'a str,
    webhook_id: i64,
    last_error: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "endpoint_disabled.html")]
struct DisabledHtml<'a> {
    d: &'a Disabled<'a>,
}

#[derive(Template)]
#[template(path = "endpoint_disabled.txt", escape = "none")]
struct DisabledText<'a> {
    d: &'a Disabled<'a>,
}

/// What the operator's "incoming webhook silent" notice says, in both of its forms.
struct Silent<'a> {
    site_name: &'a str,
    title: &'a str,
    webhook_id: i64,
    hours: u16,
    last_call: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "incoming_silent.html")]
struct SilentHtml<'a> {
    s: &'a Silent<'a>,
}

#[derive(Template)]
#[template(path = "incoming_silent.txt", escape = "none")]
struct SilentText<'a> {
    s: &'a Silent<'a>,
}

/// A rendered email.
#[derive(Clone, Debug, PartialEq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Renders the welcome email for `member` (pure; tested without SES).
pub fn welcome_email(config: &Config, member: &Member) -> Result<Email> {
    let w = Welcome {
        site_name: &config.site_name,
        portal_url: &config.portal_url,
        display_name: &member.display_name,
        login: &member.login,
    };
    let html = WelcomeHtml { w: &w }.render().map_err(Error::dep)?;
    let text = WelcomeText { w: &w }.render().map_err(Error::dep)?;
    let subject = config
        .welcome_subject
        .replace("{site_name}", &config.site_name)
        .replace(['\r', '\n'], " ");
    Ok(Email {
        to: member.email.clone(),
        subject,
        html,
        text,
    })
}

/// The operator's notice that endpoint `webhook_id` was disabled (pure; tested without SES).
pub fn endpoint_disabled_email(
    config: &Config,
    to: &str,
    webhook_id: i64,
    name: &str,
    last_error: &str,
) -> Result<Email> {
    let link = format!(
        "{}#/outgoing/{webhook_id}",
        config.admin_ui_url.trim_end_matches('/')
    );
    let d = Disabled {
        site_name: &config.site_name,
        name,
        webhook_id,
        last_error,
        link: &link,
    };
    let html = DisabledHtml { d: &d }.render().map_err(Error::dep)?;
    let text = DisabledText { d: &d }.render().map_err(Error::dep)?;
    let subject = format!("Outgoing webhook disabled: {name}").replace(['\r', '\n'], " ");
    Ok(Email {
        to: to.to_string(),
        subject,
        html,
        text,
    })
}

/// The operator's notice that incoming webhook `webhook_id` went silent
/// (docs/reference/incoming.md#silence-alerts; pure). `last_call_at`: the last accepted call,
/// `None` when it was never called.
pub fn incoming_silent_email(
    config: &Config,
    to: &str,
    webhook_id: i64,
    title: &str,
    hours: u16,
    last_call_at: Option<&str>,
) -> Result<Email> {
    let link = format!(
        "{}#/incoming/{webhook_id}",
        config.admin_ui_url.trim_end_matches('/')
    );
    let s = Silent {
        site_name: &config.site_name,
        title,
        webhook_id,
        hours,
        last_call: last_call_at.unwrap_or("it was set up (it was never called)"),
        link: &link,
    };
    let html = SilentHtml { s: &s }.render().map_err(Error::dep)?;
    let text = SilentText { s: &s }.render().map_err(Error::dep)?;
    let subject = format!("Incoming webhook silent: {title}").replace(['\r', '\n'], " ");
    Ok(Email {
        to: to.to_string(),
        subject,
        html,
        text,
    })
}

#[derive(Clone, Debug)]
pub struct Mailer {
    pub client: aws_sdk_ses::Client,
    pub from: String,
}

impl Mailer {
    pub fn new(client: aws_sdk_ses::Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }

    pub async fn send(&self, email: &Email) -> Result<()> {
        let content = |s: &str| {
            Content::builder()
                .data(s)
                .charset("UTF-8")
                .build()
                .map_err(Error::dep)
        };
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .html(content(&email.html)?)
                    .text(content(&email.text)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .source(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .message(message)
            .send()
            .await
            .or_unavailable("SendEmail")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_password_absent() {
        let member = Member {
            user_id: 1,
            email: "a@example.com".into(),
            login: "jd".into(),
            first_name: "<b>J</b>".into(),
            last_name: String::new(),
            display_name: "<img src=x onerror=alert(1)>".into(),
            role: "subscriber".into(),
            status: crate::domain::member::MemberStatus::Active,
            meta: Default::default(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            origin: "by_admin".into(),
        };
        let e = welcome_email(&Config::defaults(), &member).unwrap();
        assert!(!e.html.contains("<img"));
        assert!(e.html.contains("&#60;img") || e.html.contains("&lt;img"));
        assert!(e.html.contains("Switchboard Community"));
        assert!(e.text.contains("http://127.0.0.1:9000/portal/"));
        assert_eq!(e.subject, "Welcome to Switchboard Community");
    }

    #[test]
    fn disabled_notice_names_the_endpoint_and_links_the_ui() {
        let e = endpoint_disabled_email(
            &Config::defaults(),
            "operator@example.com",
            7,
            "<Orders>",
            "HTTP 410",
        )
        .unwrap();
        assert_eq!(e.to, "operator@example.com");
        assert!(e.subject.contains("<Orders>"));
        assert!(!e.html.contains("<Orders>"), "escaped in HTML");
        assert!(e.text.contains("<Orders>") && e.text.contains("HTTP 410"));
        assert!(e.html.contains("/admin/ui#/outgoing/7"));
    }

    #[test]
    fn silent_notice_names_the_webhook_its_last_call_and_links_the_ui() {
        let cfg = Config::defaults();
        let e = incoming_silent_email(
            &cfg,
            "operator@example.com",
            3,
            "<Stripe>",
            24,
            Some("2026-01-01T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(e.to, "operator@example.com");
        assert_eq!(e.subject, "Incoming webhook silent: <Stripe>");
        assert!(!e.html.contains("<Stripe>"), "escaped in HTML");
        assert!(e.text.contains("<Stripe>") && e.text.contains("every 24 hours"));
        assert!(e.text.contains("2026-01-01T10:00:00Z"));
        assert!(e.html.contains("/admin/ui#/incoming/3"));
        let never = incoming_silent_email(&cfg, "o@example.com", 3, "S", 1, None).unwrap();
        assert!(never.text.contains("never called"), "{}", never.text);
    }
}
