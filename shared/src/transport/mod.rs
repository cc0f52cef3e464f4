//! HTTP transport: axum routers run by `lambda_http` (and by `cargo lambda watch` locally).

pub mod admin;
pub mod body;
pub mod error;
pub mod incoming;
pub mod request;
pub mod sqs;
pub mod stream;
