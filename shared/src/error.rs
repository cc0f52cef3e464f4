//! The one error type of every layer above the domain (a domain rule's refusal becomes
//! [`Error::Invalid`]). How it becomes an HTTP response (status, the two error shapes of the
//! seeds) is the transport's: [`crate::transport::error`].

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Machine-readable reason of a `400` (the domain's).
pub use switchboard_domain::error::Code;

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

/// A value a domain rule refused.
impl From<switchboard_domain::error::Error> for Error {
    fn from(e: switchboard_domain::error::Error) -> Self {
        Error::Invalid {
            code: e.code,
            message: e.message,
        }
    }
}

/// The `400` constructors are the domain's ([`switchboard_domain::error::Error`]), so each
/// message is written once.
impl Error {
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        switchboard_domain::error::Error::invalid(field, why).into()
    }

    pub fn bad_url(message: impl Into<String>) -> Self {
        switchboard_domain::error::Error::bad_url(message).into()
    }

    pub fn bad_event(event: &str) -> Self {
        switchboard_domain::error::Error::bad_event(event).into()
    }

    pub fn bad_json(why: impl std::fmt::Display) -> Self {
        switchboard_domain::error::Error::bad_json(why).into()
    }

    /// Wraps any dependency failure (SDK errors, serialization of stored items).
    pub fn dep(e: impl std::fmt::Display) -> Self {
        Error::Dependency(e.to_string())
    }
}
