//! Configuration, read from the environment in exactly one place.

use std::env;

/// Every setting the functions read. See the README's configuration table.
#[derive(Clone, serde::Serialize)]
pub struct Config {
    /// DynamoDB table holding all state (`TABLE_NAME`).
    pub table_name: String,
    /// SQS queue events are sent to (`QUEUE_URL`).
    pub queue_url: String,
    /// Verified SES identity welcome emails are sent from (`MAIL_FROM`).
    pub mail_from: String,
    /// Community name used in emails (`SITE_NAME`).
    pub site_name: String,
    /// Where members sign in; used in emails (`PORTAL_URL`).
    pub portal_url: String,
    /// Public base URL of the incoming function, used to build `webhook_url` (`PUBLIC_BASE_URL`).
    pub public_base_url: String,
    /// Welcome email subject; `{site_name}` is replaced (`WELCOME_EMAIL_SUBJECT`).
    pub welcome_subject: String,
    /// Admin user name (`ADMIN_USER`).
    pub admin_user: String,
    /// Admin password in clear (`ADMIN_PASSWORD`), local use only.
    pub admin_password: Option<String>,
    /// Admin password as an argon2id PHC string (`ADMIN_PASSWORD_HASH`); wins over the clear one.
    pub admin_password_hash: Option<String>,
    /// Largest accepted incoming body in bytes (`MAX_BODY_BYTES`, default 256 KiB).
    pub max_body_bytes: usize,
    /// Days incoming runs and deliveries are kept (`LOG_RETENTION_DAYS`, default 30).
    pub log_retention_days: i64,
    /// Whether course enrollment is enabled (`COURSE_MODULE_ENABLED`, default true).
    pub course_module_enabled: bool,
    /// Role given to members created by incoming webhooks (`DEFAULT_ROLE`, default `subscriber`).
    pub default_role: String,
    /// Local mode: plain http and loopback endpoints allowed (`LOCAL_MODE`, default false).
    pub local_mode: bool,
    /// Incoming calls allowed per webhook per minute and per instance (`RATE_LIMIT_PER_MINUTE`, 0 = off).
    pub rate_limit_per_minute: u32,
    /// Outbox entries older than this many seconds are re-sent by the sweeper (`OUTBOX_GRACE_SECONDS`).
    pub outbox_grace_seconds: i64,
    /// Budget of one delivery attempt in seconds (`DELIVERY_TIMEOUT_SECONDS`, default 30).
    pub delivery_timeout_seconds: u64,
    /// Deliveries sent concurrently by one `dispatch` invocation (`DISPATCH_CONCURRENCY`, default 100).
    pub dispatch_concurrency: usize,
    /// Who is told when an endpoint is disabled (`OPERATOR_EMAIL`; unset = no email).
    pub operator_email: Option<String>,
    /// The admin UI, linked from operator emails (`ADMIN_UI_URL`).
    pub admin_ui_url: String,
    /// A FIFO endpoint's next delivery waits until its event is this old, so events fanned
    /// out slightly out of order still leave in publish order (`FIFO_SETTLE_MS`, default 1000).
    pub fifo_settle_ms: u64,
    /// The slow lane's queue: retries, FIFO lines, recover jobs and first attempts that
    /// outran the fast lane (`SLOW_QUEUE_URL`; unset = the event queue).
    pub slow_queue_url: Option<String>,
    /// Budget of a first attempt in the fast lane, in ms (`FAST_LANE_MS`; 0 = no fast lane,
    /// every first attempt gets the full timeout). The template and `make dev` set 3000.
    pub fast_lane_ms: u64,
}

// Passwords and hashes read `[redacted]`.
crate::redacted_debug!(Config);

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> T {
    var(name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn flag(name: &str, default: bool) -> bool {
    match var(name).map(|v| v.to_ascii_lowercase()) {
        Some(v) => matches!(v.as_str(), "1" | "true" | "yes" | "on"),
        None => default,
    }
}

/// `LOCAL_MODE` (default false): also needed before [`Config::from_env`], when the process
/// starts (see [`crate::runtime`]).
pub fn local_mode() -> bool {
    flag("LOCAL_MODE", Config::defaults().local_mode)
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Self {
        let defaults = Self::defaults();
        Self {
            table_name: var("TABLE_NAME").unwrap_or(defaults.table_name),
            queue_url: var("QUEUE_URL").unwrap_or(defaults.queue_url),
            mail_from: var("MAIL_FROM").unwrap_or(defaults.mail_from),
            site_name: var("SITE_NAME").unwrap_or(defaults.site_name),
            portal_url: var("PORTAL_URL").unwrap_or(defaults.portal_url),
            public_base_url: var("PUBLIC_BASE_URL")
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or(defaults.public_base_url),
            welcome_subject: var("WELCOME_EMAIL_SUBJECT").unwrap_or(defaults.welcome_subject),
            admin_user: var("ADMIN_USER").unwrap_or(defaults.admin_user),
            admin_password: var("ADMIN_PASSWORD"),
            admin_password_hash: var("ADMIN_PASSWORD_HASH"),
            max_body_bytes: parse("MAX_BODY_BYTES", defaults.max_body_bytes),
            log_retention_days: parse("LOG_RETENTION_DAYS", defaults.log_retention_days),
            course_module_enabled: flag("COURSE_MODULE_ENABLED", defaults.course_module_enabled),
            default_role: var("DEFAULT_ROLE").unwrap_or(defaults.default_role),
            local_mode: local_mode(),
            rate_limit_per_minute: parse("RATE_LIMIT_PER_MINUTE", defaults.rate_limit_per_minute),
            outbox_grace_seconds: parse("OUTBOX_GRACE_SECONDS", defaults.outbox_grace_seconds),
            delivery_timeout_seconds: parse(
                "DELIVERY_TIMEOUT_SECONDS",
                defaults.delivery_timeout_seconds,
            ),
            dispatch_concurrency: parse("DISPATCH_CONCURRENCY", defaults.dispatch_concurrency)
                .max(1),
            operator_email: var("OPERATOR_EMAIL"),
            admin_ui_url: var("ADMIN_UI_URL").unwrap_or(defaults.admin_ui_url),
            fifo_settle_ms: parse("FIFO_SETTLE_MS", defaults.fifo_settle_ms),
            slow_queue_url: var("SLOW_QUEUE_URL"),
            fast_lane_ms: parse("FAST_LANE_MS", defaults.fast_lane_ms),
        }
    }

    /// The built-in defaults (what `make dev` runs with, before its own overrides).
    pub fn defaults() -> Self {
        Self {
            table_name: "switchboard".into(),
            queue_url: "http://127.0.0.1:4566/123456789012/switchboard-events".into(),
            mail_from: "no-reply@switchboard.local".into(),
            site_name: "Switchboard Community".into(),
            portal_url: "http://127.0.0.1:9000/portal/".into(),
            public_base_url: "http://127.0.0.1:9000/lambda-url/incoming".into(),
            welcome_subject: "Welcome to {site_name}".into(),
            admin_user: "admin".into(),
            admin_password: None,
            admin_password_hash: None,
            max_body_bytes: 256 * 1024,
            log_retention_days: 30,
            course_module_enabled: true,
            default_role: "subscriber".into(),
            local_mode: false,
            rate_limit_per_minute: 0,
            outbox_grace_seconds: 60,
            delivery_timeout_seconds: 30,
            dispatch_concurrency: 100,
            operator_email: None,
            admin_ui_url: "http://127.0.0.1:9000/lambda-url/admin/admin/ui".into(),
            fifo_settle_ms: 1000,
            slow_queue_url: None,
            fast_lane_ms: 0,
        }
    }
}
