//! The delivery engine (docs/reference/outgoing.md#the-delivery,
//! docs/reference/outgoing.md#fifo-endpoints): what `dispatch` does with each queue message.
//!
//! | file | part |
//! |---|---|
//! | [`consumer`] | the SQS adapter's other side: one queue message → batch, retry or job |
//! | [`dispatch`] | fan-out: match events to endpoints, first attempts, records in batches |
//! | [`lanes`] | fast lane / slow lane, the circuit breaker, one send budget per instance |
//! | [`retries`] | the retry schedule on the slow lane |
//! | [`throttle`] | `rate_limit`: a shared window counter per endpoint; excess waits |
//! | [`fifo`] | ordered endpoints: one delivery at a time, in publish order |
//! | [`formats`] | rendering a delivery's body in its endpoint's format |
//! | [`hold`] | paused endpoints: deliveries kept `held`, released in order on resume |
//! | [`health`] | an endpoint's health after each attempt; disabling and telling the operator |
//! | [`jobs`] | background jobs carried by the queue; the sweeper's overdue check |
//! | [`recover`] | re-attempting an endpoint's failed deliveries since a time |

pub mod consumer;
pub mod dispatch;
pub mod fifo;
pub mod formats;
pub mod health;
pub mod hold;
pub mod jobs;
pub mod lanes;
pub mod recover;
pub mod retries;
pub mod throttle;

use std::sync::Arc;

use super::{Erasure, Outbox};
use crate::config::Config;
use crate::mail::Mailer;
use crate::queue::Queue;
use crate::sender::Sender;
use crate::store::{
    DeliveryRepo, LineRepo, MemberRepo, NoticeRepo, OutgoingRepo, RateRepo, RecoverRepo,
    Repositories,
};

pub use crate::domain::delivery::machine::Trigger;

/// The delivery engine of one instance.
#[derive(Debug)]
pub struct Deliveries {
    webhooks: OutgoingRepo,
    deliveries: DeliveryRepo,
    /// A member's profile, for events that name only a `user_id`.
    members: MemberRepo,
    recover_jobs: RecoverRepo,
    /// FIFO lines (`ordering: "fifo"`).
    lines: LineRepo,
    /// One operator alert per event.
    notices: NoticeRepo,
    /// Throttle windows (`rate_limit`).
    rates: RateRepo,
    queue: Queue,
    /// Operator alerts (`endpoint.disabled`).
    mailer: Mailer,
    sender: Sender,
    lanes: lanes::Lanes,
    /// `endpoint.disabled` / `endpoint.recovered` commit with the endpoint's status.
    outbox: Outbox,
    /// Erasure steps carried by the queue.
    erasure: Erasure,
    config: Arc<Config>,
}

impl Deliveries {
    /// The engine over the given handles; the sender and the lanes are built from `config`
    /// (`DELIVERY_TIMEOUT_SECONDS`, `DISPATCH_CONCURRENCY`).
    pub(crate) fn new(
        repos: &Repositories,
        queue: Queue,
        mailer: Mailer,
        outbox: Outbox,
        erasure: Erasure,
        config: Arc<Config>,
    ) -> Self {
        let timeout = std::time::Duration::from_secs(config.delivery_timeout_seconds.max(1));
        Self {
            sender: Sender::new(config.local_mode, timeout),
            lanes: lanes::Lanes::new(config.dispatch_concurrency, timeout),
            webhooks: repos.outgoing.clone(),
            deliveries: repos.deliveries.clone(),
            members: repos.members.clone(),
            recover_jobs: repos.recover_jobs.clone(),
            lines: repos.lines.clone(),
            notices: repos.notices.clone(),
            rates: repos.rates.clone(),
            queue,
            mailer,
            outbox,
            erasure,
            config,
        }
    }
}
