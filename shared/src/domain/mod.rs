//! Pure domain rules: no I/O here.

pub mod app_password;
pub mod auth;
pub mod catalog;
pub mod delivery;
pub mod egress;
pub mod erasure;
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
pub mod secret;
pub mod time;
