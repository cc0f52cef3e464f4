//! Use cases, one service per area. Each service owns the handles it needs (private fields) and
//! combines domain rules with them; transport asks a service, never a store.
//!
//! | service | what it does | handles |
//! |---|---|---|
//! | [`Incoming`] | executes incoming webhooks (docs/reference/incoming.md), manages them, the welcome email | store, outbox, mailer, limiter |
//! | [`Outgoing`] | manages outgoing webhooks (§6.4), publishes events (§6.2), tests, redelivers, previews | store, outbox, deliveries, resolver |
//! | [`Deliveries`] | the delivery engine: fan-out, attempts, retries, FIFO lines, health, recover (§6.3, §6.7) | store, queue, mailer, sender, lanes |
//! | [`Catalog`] | spaces and courses (§5) | store, outbox |
//! | [`Members`] | member lookups, the end of timed access | store, outbox |
//! | [`Erasure`] | erasing a member (§7.1), a job carried by the queue | store, outbox, queue |
//! | [`Access`] | signing in, application passwords (§7) | store |
//! | [`Outbox`] | committing changes with their events, the outbox sweep (what the stream gave up on) | store, queue |
//! | [`Relay`] | forwarding the outbox batches from the table's stream to SQS | store, queue |
//!
//! [`App`] builds them once per cold start and hands them out.

pub mod access;
pub mod catalog;
pub mod deliveries;
pub mod erasure;
pub mod incoming;
pub mod limiter;
pub mod members;
pub mod outbox;
pub mod outgoing;
pub mod relay;

use std::sync::Arc;

pub use access::Access;
pub use catalog::Catalog;
pub use deliveries::Deliveries;
pub use erasure::Erasure;
pub use incoming::Incoming;
pub use members::Members;
pub use outbox::Outbox;
pub use outgoing::Outgoing;
pub use relay::Relay;

use crate::config::{Config, ConfigError, Function};
use crate::mail::Mailer;
use crate::queue::Queue;
use crate::resolver::{Lookup, SystemLookup};
use crate::store::{Repositories, Retention};
use crate::vault::Vault;

/// Every service of a function, built once per cold start and shared by every request.
#[derive(Debug)]
pub struct App {
    config: Arc<Config>,
    incoming: Incoming,
    outgoing: Outgoing,
    deliveries: Arc<Deliveries>,
    catalog: Catalog,
    members: Members,
    erasure: Erasure,
    access: Access,
    outbox: Outbox,
    relay: Relay,
    /// The repositories, for tests that set up or inspect items directly.
    #[cfg(feature = "test-support")]
    repos: Repositories,
}

/// What one run of the scheduled sweeps did (`None`: that sweep failed this run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub resent: Option<usize>,
    pub rescheduled: Option<usize>,
    pub expired: Option<usize>,
    /// Silence alerts opened (`incoming_webhook.silent`) and closed (`.resumed`).
    pub silent: Option<usize>,
    pub resumed: Option<usize>,
    /// Owed welcome emails the request path did not send, sent now.
    pub welcomed: Option<usize>,
}

fn sweep_count<T>(sweep: &str, r: crate::error::Result<T>) -> Option<T> {
    r.inspect_err(|error| tracing::error!(%error, sweep, "sweep failed; the others ran"))
        .ok()
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
        let vault = Vault::new(aws_sdk_kms::Client::new(sdk), config.sealing_key_id.clone());
        Self::from_clients(
            config,
            aws_sdk_dynamodb::Client::new(sdk),
            aws_sdk_sqs::Client::new(sdk),
            aws_sdk_ses::Client::new(sdk),
            vault,
        )
    }

    /// Builds the app around ready clients (tests add interceptors to count calls) and the
    /// vault sealing stored secrets.
    pub fn from_clients(
        config: Config,
        dynamodb: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
        ses: aws_sdk_ses::Client,
        vault: Vault,
    ) -> Self {
        if !vault.seals() {
            tracing::warn!("SECRETS_KEY_ID is not set: stored secrets are not sealed");
        }
        let config = Arc::new(config);
        let repos = Repositories::new(
            dynamodb,
            config.table_name.clone(),
            vault,
            Retention::days(config.log_retention_days),
        );
        let queue =
            Queue::new(sqs, config.queue_url.clone()).with_slow_lane(config.slow_queue_url.clone());
        let mailer = Mailer::new(ses, config.mail_from.clone());
        let outbox = Outbox::new(repos.outbox.clone(), queue.clone(), config.clone());
        let relay = Relay::new(repos.outbox.clone(), queue.clone());
        let erasure = Erasure::new(&repos, queue.clone(), outbox.clone());
        let deliveries = Arc::new(Deliveries::new(
            &repos,
            queue,
            mailer.clone(),
            outbox.clone(),
            erasure.clone(),
            config.clone(),
        ));
        Self {
            incoming: Incoming::new(
                &repos,
                outbox.clone(),
                mailer,
                limiter::RateLimiter::new(config.rate_limit_per_minute),
                config.clone(),
            ),
            outgoing: Outgoing::new(
                &repos,
                outbox.clone(),
                deliveries.clone(),
                Arc::new(SystemLookup),
                config.clone(),
            ),
            catalog: Catalog::new(&repos, outbox.clone()),
            members: Members::new(&repos, outbox.clone()),
            erasure,
            access: Access::new(&repos, config.clone()),
            deliveries,
            outbox,
            relay,
            #[cfg(feature = "test-support")]
            repos,
            config,
        }
    }

    /// The sweeper's five scheduled sweeps, run side by side and independently: one failing
    /// (it is logged and reported as `null`) does not stop the others. Each is bounded per run
    /// and resumable (what one run leaves, the next picks up).
    pub async fn scheduled_sweeps(&self) -> SweepReport {
        let (resent, rescheduled, expired, silence, welcomed) = tokio::join!(
            self.outbox.sweep(),
            self.deliveries.sweep_deliveries(),
            self.members.expire_grants(),
            self.incoming.sweep_silence(),
            self.incoming.sweep_welcome()
        );
        let silence = sweep_count("silence alerts", silence);
        let report = SweepReport {
            resent: sweep_count("outbox", resent),
            rescheduled: sweep_count("deliveries", rescheduled),
            expired: sweep_count("timed access", expired),
            silent: silence.map(|s| s.silent),
            resumed: silence.map(|s| s.resumed),
            welcomed: sweep_count("welcome emails", welcomed),
        };
        tracing::info!(
            ?report,
            "outbox, deliveries, timed access, silence alerts and welcome emails swept"
        );
        report
    }

    /// The same app with another resolver for the save-time address checks (tests).
    pub fn with_resolver(self, resolver: Arc<dyn Lookup>) -> Self {
        let outgoing = self.outgoing.with_resolver(resolver);
        Self { outgoing, ..self }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn incoming(&self) -> &Incoming {
        &self.incoming
    }

    pub fn outgoing(&self) -> &Outgoing {
        &self.outgoing
    }

    pub fn deliveries(&self) -> &Deliveries {
        &self.deliveries
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn members(&self) -> &Members {
        &self.members
    }

    pub fn erasure(&self) -> &Erasure {
        &self.erasure
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// The repositories: for tests that set up or inspect items directly (feature
    /// `test-support`, which only the tests crate enables). Production code goes through the
    /// services.
    #[cfg(feature = "test-support")]
    pub fn store_for_tests(&self) -> &Repositories {
        &self.repos
    }
}
