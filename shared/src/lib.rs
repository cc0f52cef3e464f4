//! Switchboard: incoming and outgoing webhooks for online communities.
//!
//! Layout, from the inside out:
//! - [`domain`]: pure rules (members, incoming webhooks, events, passwords, pagination), the
//!   `switchboard-domain` crate (no I/O dependency), re-exported here;
//! - [`store`]: DynamoDB persistence; [`queue`]: SQS; [`mail`]: SES;
//! - [`app`]: the use cases, combining domain and store;
//! - [`transport`]: HTTP (axum) routers for the Lambda functions, and body parsing;
//! - [`config`] and [`error`]: read once per cold start / mapped to HTTP in one place;
//!   [`aws`]: AWS SDK failures as errors;
//! - [`runtime`]: how every Lambda binary starts.

pub mod app;
pub mod aws;
pub mod config;
pub mod error;
pub mod mail;
pub mod metrics;
pub mod queue;
pub mod resolver;
pub mod runtime;
pub mod sender;
pub mod store;
pub mod telemetry;
pub mod transport;
pub mod vault;

pub use switchboard_domain as domain;
pub use switchboard_domain::redact;
