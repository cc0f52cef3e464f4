//! The domain's one error: a rule refused a value. It is always a `400` with a machine-readable
//! [`Code`]; the layers around the domain wrap it in their own error
//! (`switchboard::error::Error::Invalid`) and the transport maps that to HTTP.

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

/// A value a rule refused: the [`Code`] and the message the caller reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: Code,
    pub message: String,
}

impl Error {
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Error {
            code: Code::InvalidParam,
            message: format!("Invalid parameter(s): {field}: {why}"),
        }
    }

    pub fn bad_url(message: impl Into<String>) -> Self {
        Error {
            code: Code::InvalidUrl,
            message: message.into(),
        }
    }

    pub fn bad_event(event: &str) -> Self {
        Error {
            code: Code::InvalidEvent,
            message: format!("Event type '{event}' is not supported."),
        }
    }

    pub fn bad_json(why: impl std::fmt::Display) -> Self {
        Error {
            code: Code::InvalidJson,
            message: format!("Malformed request body: {why}"),
        }
    }
}
