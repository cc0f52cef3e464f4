//! Configuration, read from the environment in exactly one place.

use std::env;

/// Every setting the functions read. See docs/operations.md#configuration.
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
    /// The KMS key sealing stored secrets (`SECRETS_KEY_ID`, a key id, ARN or alias; unset: an
    /// open vault, secrets stored as they are — only for a local run without KMS).
    pub sealing_key_id: Option<String>,
}

/// Every variable [`Config::from_env`] reads, in the order of docs/operations.md#configuration
/// (the SAM template test checks the template against this list; a unit test checks the list
/// against what is read).
pub const VARIABLES: &[&str] = &[
    "TABLE_NAME",
    "QUEUE_URL",
    "MAIL_FROM",
    "SITE_NAME",
    "PORTAL_URL",
    "PUBLIC_BASE_URL",
    "WELCOME_EMAIL_SUBJECT",
    "ADMIN_USER",
    "ADMIN_PASSWORD_HASH",
    "ADMIN_PASSWORD",
    "MAX_BODY_BYTES",
    "LOG_RETENTION_DAYS",
    "COURSE_MODULE_ENABLED",
    "DEFAULT_ROLE",
    "LOCAL_MODE",
    "RATE_LIMIT_PER_MINUTE",
    "OUTBOX_GRACE_SECONDS",
    "DELIVERY_TIMEOUT_SECONDS",
    "DISPATCH_CONCURRENCY",
    "OPERATOR_EMAIL",
    "ADMIN_UI_URL",
    "FIFO_SETTLE_MS",
    "SLOW_QUEUE_URL",
    "FAST_LANE_MS",
    "SECRETS_KEY_ID",
];

/// The function being started: each needs its own variables when deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    Incoming,
    Admin,
    Dispatch,
    Sweeper,
    Relay,
}

impl Function {
    /// Variables that must be set outside local mode: their defaults only fit `make dev`
    /// (a localhost queue, a local sender, no admin password), so a deployed function without
    /// them must not start.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Function::Incoming => &["TABLE_NAME", "QUEUE_URL", "MAIL_FROM", "PORTAL_URL"],
            Function::Admin => &[
                "TABLE_NAME",
                "QUEUE_URL",
                "PUBLIC_BASE_URL",
                "ADMIN_PASSWORD_HASH",
            ],
            Function::Dispatch | Function::Sweeper | Function::Relay => {
                &["TABLE_NAME", "QUEUE_URL"]
            }
        }
    }
}

/// Why a function refuses to start. Messages name the variable, never its value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set: it is required when LOCAL_MODE is not true")]
    Missing(&'static str),
    #[error("{name} is not {expected}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
    },
}

/// Reads variables through `lookup` (the process environment, or a map in tests); blank
/// values count as unset.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Reader<'_> {
    fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    fn text_or(&self, name: &str, default: String) -> String {
        self.text(name).unwrap_or(default)
    }

    fn number<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                name,
                expected: "a number",
            }),
        }
    }

    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.text(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) => match v.as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::Invalid {
                    name,
                    expected: "true or false",
                }),
            },
        }
    }
}

/// `LOCAL_MODE` (default false): also needed before [`Config::from_env`], when the process
/// starts (see [`crate::runtime`]). Anything but a true value is false here;
/// [`Config::from_env`] refuses a value that is neither.
pub fn local_mode() -> bool {
    let reader = Reader {
        lookup: &|name| env::var(name).ok(),
    };
    reader.flag("LOCAL_MODE", false).unwrap_or(false)
}

impl Config {
    /// Reads the configuration of `function` from the process environment. Outside local mode
    /// a missing required variable ([`Function::required`]) is an error naming it; a number or
    /// flag that does not parse is an error in every mode.
    pub fn from_env(function: Function) -> Result<Self, ConfigError> {
        Self::from_lookup(function, &|name| env::var(name).ok())
    }

    /// [`Config::from_env`] over any source of variables.
    pub fn from_lookup(
        function: Function,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let r = Reader { lookup };
        let d = Self::defaults();
        let local_mode = r.flag("LOCAL_MODE", d.local_mode)?;
        if !local_mode {
            if let Some(name) = function.required().iter().find(|n| r.text(n).is_none()) {
                return Err(ConfigError::Missing(name));
            }
        }
        Ok(Self {
            table_name: r.text_or("TABLE_NAME", d.table_name),
            queue_url: r.text_or("QUEUE_URL", d.queue_url),
            mail_from: r.text_or("MAIL_FROM", d.mail_from),
            site_name: r.text_or("SITE_NAME", d.site_name),
            portal_url: r.text_or("PORTAL_URL", d.portal_url),
            public_base_url: r
                .text("PUBLIC_BASE_URL")
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or(d.public_base_url),
            welcome_subject: r.text_or("WELCOME_EMAIL_SUBJECT", d.welcome_subject),
            admin_user: r.text_or("ADMIN_USER", d.admin_user),
            admin_password_hash: r.text("ADMIN_PASSWORD_HASH"),
            admin_password: r.text("ADMIN_PASSWORD"),
            max_body_bytes: r.number("MAX_BODY_BYTES", d.max_body_bytes)?,
            log_retention_days: r.number("LOG_RETENTION_DAYS", d.log_retention_days)?,
            course_module_enabled: r.flag("COURSE_MODULE_ENABLED", d.course_module_enabled)?,
            default_role: r.text_or("DEFAULT_ROLE", d.default_role),
            local_mode,
            rate_limit_per_minute: r.number("RATE_LIMIT_PER_MINUTE", d.rate_limit_per_minute)?,
            outbox_grace_seconds: r.number("OUTBOX_GRACE_SECONDS", d.outbox_grace_seconds)?,
            delivery_timeout_seconds: r
                .number("DELIVERY_TIMEOUT_SECONDS", d.delivery_timeout_seconds)?,
            dispatch_concurrency: r
                .number("DISPATCH_CONCURRENCY", d.dispatch_concurrency)?
                .max(1),
            operator_email: r.text("OPERATOR_EMAIL"),
            admin_ui_url: r.text_or("ADMIN_UI_URL", d.admin_ui_url),
            fifo_settle_ms: r.number("FIFO_SETTLE_MS", d.fifo_settle_ms)?,
            slow_queue_url: r.text("SLOW_QUEUE_URL"),
            fast_lane_ms: r.number("FAST_LANE_MS", d.fast_lane_ms)?,
            sealing_key_id: r.text("SECRETS_KEY_ID"),
        })
    }

    /// The built-in defaults (what `make dev` runs with, before its own overrides; deployed,
    /// the required variables replace every local address).
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
            outbox_grace_seconds: 300,
            delivery_timeout_seconds: 30,
            dispatch_concurrency: 100,
            operator_email: None,
            admin_ui_url: "http://127.0.0.1:9000/lambda-url/admin/admin/ui".into(),
            fifo_settle_ms: 1000,
            slow_queue_url: None,
            fast_lane_ms: 0,
            sealing_key_id: None,
        }
    }
}

// Passwords and hashes read `[redacted]`.
crate::redact::redacted_debug!(Config);

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
