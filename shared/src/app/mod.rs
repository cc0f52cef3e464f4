//! Use cases: each combines domain rules with the store, the queue and the mailer.

pub mod auth;
pub mod catalog;
pub mod consumer;
pub mod dispatch;
pub mod endpoints;
pub mod events;
pub mod expiry;
pub mod fifo;
pub mod formats;
pub mod health;
pub mod incoming;
pub mod incoming_admin;
mod incoming_member;
pub mod incoming_provider;
pub mod jobs;
pub mod lanes;
pub mod limiter;
pub mod listings;
pub mod recover;
pub mod retries;

use crate::config::{Config, ConfigError, Function};
use crate::mail::Mailer;
use crate::queue::Queue;
use crate::resolver::{Resolver, SystemResolver};
use crate::sender::Sender;
use crate::store::Store;

/// Everything a function needs, built once per cold start and shared by every request.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub store: Store,
    pub queue: Queue,
    pub mailer: Mailer,
    pub limiter: limiter::RateLimiter,
    pub sender: Sender,
    pub lanes: lanes::Lanes,
    /// Resolves endpoint hosts for the save-time address check.
    pub resolver: std::sync::Arc<dyn Resolver>,
}

impl App {
    /// Reads the configuration of `function` and builds the SDK clients from the environment
    /// (honours `AWS_ENDPOINT_URL`). A configuration error is logged and returned: the cold
    /// start fails, naming the variable.
    pub async fn from_env(function: Function) -> Result<Self, ConfigError> {
        let config = Config::from_env(function).inspect_err(|error| {
            tracing::error!(%error, "configuration refused: the function does not start");
        })?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(config, &sdk))
    }

    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> Self {
        Self::from_clients(
            config,
            aws_sdk_dynamodb::Client::new(sdk),
            aws_sdk_sqs::Client::new(sdk),
            aws_sdk_ses::Client::new(sdk),
        )
    }

    /// Builds the app around ready clients (tests add interceptors to count calls).
    pub fn from_clients(
        config: Config,
        dynamodb: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
        ses: aws_sdk_ses::Client,
    ) -> Self {
        let store = Store::new(dynamodb, config.table_name.clone());
        let queue =
            Queue::new(sqs, config.queue_url.clone()).with_slow_lane(config.slow_queue_url.clone());
        let mailer = Mailer::new(ses, config.mail_from.clone());
        let limiter = limiter::RateLimiter::new(config.rate_limit_per_minute);
        let timeout = std::time::Duration::from_secs(config.delivery_timeout_seconds.max(1));
        let sender = Sender::new(config.local_mode, timeout);
        let lanes = lanes::Lanes::new(config.dispatch_concurrency, timeout);
        Self {
            lanes,
            sender,
            resolver: std::sync::Arc::new(SystemResolver),
            config,
            store,
            queue,
            mailer,
            limiter,
        }
    }

    /// The same app with another resolver for the save-time checks (tests).
    pub fn with_resolver(mut self, resolver: std::sync::Arc<dyn Resolver>) -> Self {
        self.resolver = resolver;
        self
    }
}
