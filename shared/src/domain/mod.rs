//! Pure domain rules: no I/O here.

pub mod endpoint;
pub mod events;
pub mod format;
pub mod incoming;
pub mod json;
pub mod member;
pub mod page;
pub mod secret;
pub mod time;
