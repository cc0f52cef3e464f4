//! Pure domain rules: no I/O here (`cargo tree -p switchboard-domain` shows no AWS SDK, tokio,
//! axum, reqwest, Lambda or hyper crate). The `switchboard` crate re-exports it as `domain`.

pub mod app_password;
pub mod auth;
pub mod catalog;
pub mod delivery;
pub mod egress;
pub mod erasure;
pub mod error;
pub mod events;
pub mod fields;
pub mod format;
pub mod incoming;
pub mod json;
pub mod member;
pub mod membership;
pub mod outgoing;
pub mod page;
pub mod publish;
pub mod recover;
pub mod redact;
pub mod secret;
pub mod time;
pub mod wire;
