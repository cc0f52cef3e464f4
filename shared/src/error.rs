//! The one error type of every layer. How it becomes an HTTP response (status, the two error
//! shapes of the seeds) is the transport's: [`crate::transport::error`].

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Machine-readable reason of a `400`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// A field is missing or has a bad value.
    InvalidParam,
    /// The endpoint URL is missing, malformed, not HTTPS or resolves somewhere forbidden.
    InvalidUrl,
    /// An event outside the catalog.
    InvalidEvent,
    /// The body could not be parsed at all.
    InvalidJson,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    /// `423`: missing/invalid email, member not resolvable, webhook disabled.
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("Sorry, you are not allowed to do that.")]
    Unauthorized,
    #[error("Method not allowed.")]
    MethodNotAllowed,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("Too many requests, slow down.")]
    RateLimited,
    #[error("{message}")]
    Invalid { code: Code, message: String },
    #[error("{0}")]
    Conflict(String),
    /// `409`: an idempotency key reused with a different request.
    #[error("{0}")]
    IdempotencyConflict(String),
    /// A dependency (DynamoDB, SQS, SES) failed; the detail is logged, never returned.
    #[error("A dependency failed; nothing was changed, retry later.")]
    Dependency(String),
}

impl Error {
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Error::Invalid {
            code: Code::InvalidParam,
            message: format!("Invalid parameter(s): {field}: {why}"),
        }
    }

    pub fn bad_url(message: impl Into<String>) -> Self {
        Error::Invalid {
            code: Code::InvalidUrl,
            message: message.into(),
        }
    }

    pub fn bad_event(event: &str) -> Self {
        Error::Invalid {
            code: Code::InvalidEvent,
            message: format!("Event type '{event}' is not supported."),
        }
    }

    pub fn bad_json(why: impl std::fmt::Display) -> Self {
        Error::Invalid {
            code: Code::InvalidJson,
            message: format!("Malformed request body: {why}"),
        }
    }

    /// Wraps any dependency failure (SDK errors, serialization of stored items).
    pub fn dep(e: impl std::fmt::Display) -> Self {
        Error::Dependency(e.to_string())
    }
}
