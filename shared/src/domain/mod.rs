//! Pure domain rules: no I/O here.

pub mod events;
pub mod incoming;
pub mod member;
pub mod page;
pub mod secret;
pub mod time;
