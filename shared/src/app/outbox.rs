//! Committing changes together with their events (the outbox); the table's stream carries them
//! to SQS (`relay`), and the sweep re-sends what the stream gave up on.

use aws_sdk_dynamodb::types::TransactWriteItem;

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::config::Config;
use crate::domain::events::{Event, EventBatch};
use crate::domain::events::{OutboxCursor, OutboxEntry, OUTBOX_SHARDS};
use crate::domain::incoming::limits;
use crate::domain::time;
use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::store::{OutboxRepo, TxResult};

/// Outbox batches `GET /admin/outbox` reads per shard (8 shards: at most 800 items, 8 queries).
pub const STATUS_PER_SHARD: i32 = 100;

/// Parked batches one `POST /admin/outbox/redrive` redrives at most.
pub const REDRIVE_LIMIT: usize = 100;

/// One page of `GET /admin/outbox`.
#[derive(Clone, Debug)]
pub struct OutboxStatus {
    /// The parked batches among those read, oldest first.
    pub parked: Vec<OutboxEntry>,
    /// How many batches the page read.
    pub waiting: usize,
    /// Where the next page starts (`None`: the outbox was read to its end).
    pub next: Option<OutboxCursor>,
}

/// What one bulk redrive did.
#[derive(Clone, Debug)]
pub struct Redriven {
    /// Batches un-parked and sent by this call.
    pub redriven: usize,
    /// Where the next call continues (`None`: nothing left to read).
    pub next: Option<OutboxCursor>,
}

/// Re-sends of one outbox batch before it is parked.
pub const MAX_OUTBOX_SENDS: u32 = 5;

pub use crate::domain::events::ACKED_RESEND_SECONDS;

/// Outbox items one sweep evaluates per shard (the rest wait for the next run).
pub const SWEEP_LIMIT_PER_SHARD: i32 = 100;

/// The outbox: changes committed with their events, then sent to the event queue.
#[derive(Clone, Debug)]
pub struct Outbox {
    batches: OutboxRepo,
    queue: Queue,
    config: Arc<Config>,
}

impl Outbox {
    pub(crate) fn new(batches: OutboxRepo, queue: Queue, config: Arc<Config>) -> Self {
        Self {
            batches,
            queue,
            config,
        }
    }

    /// Writes `items` and, in the same transaction, outbox batches with `events` (one unless
    /// they exceed an SQS message). Nothing is sent here: the table's stream carries the
    /// batches to `relay`, which puts them on the queue.
    pub async fn commit_with_events<T: Clone>(
        &self,
        items: Vec<(T, TransactWriteItem)>,
        events: Vec<Event>,
        outbox_tag: T,
    ) -> Result<TxResult<T>> {
        let batches = EventBatch::pack(events, limits::OUTBOX_ITEM_MAX_BYTES);
        self.batches.commit(items, &batches, outbox_tag).await
    }

    /// Re-sends what the stream gave up on (the sweeper's job): per shard, in parallel, at most
    /// [`SWEEP_LIMIT_PER_SHARD`] batches due more than `OUTBOX_GRACE_SECONDS` ago on the
    /// sweeper's index: never acked since they were written, acked more than
    /// [`ACKED_RESEND_SECONDS`] earlier and still here, or re-sent that long ago (a key
    /// condition on the due time; parked and recently acked batches are not on it). Each re-send
    /// is claimed first (conditional on the attempts read), a claimed batch is not re-sent
    /// again within the grace period, and a batch re-sent [`MAX_OUTBOX_SENDS`] times without
    /// being fanned out is parked — logged as `outbox batch parked` (the template's alarm
    /// counts those), listed by `GET /admin/outbox`, redriven by an operator, removed by its TTL.
    /// Resumable: a run that stops half-way leaves the rest for the next.
    pub async fn sweep(&self) -> Result<usize> {
        self.sweep_at(time::now().as_second()).await
    }

    /// [`Outbox::sweep`] as if it ran at `now` (epoch seconds; tests look ahead past
    /// [`ACKED_RESEND_SECONDS`]).
    pub async fn sweep_at(&self, now: i64) -> Result<usize> {
        let grace = self.config.outbox_grace_seconds;
        // Every shard's page is read (in parallel) before anything is claimed.
        let pages = (0..OUTBOX_SHARDS).map(|shard| {
            self.batches
                .stale(shard, now - grace, SWEEP_LIMIT_PER_SHARD)
        });
        let mut stale = Vec::new();
        for page in futures::future::join_all(pages).await {
            stale.extend(page?);
        }
        let mut sent = 0;
        for e in stale {
            let leased = e.sent_at.is_some_and(|t| now - t < grace.max(0));
            if leased {
                continue;
            }
            if e.attempts >= MAX_OUTBOX_SENDS {
                if self.batches.park(&e).await? {
                    tracing::error!(
                        batch_id = %e.batch.batch_id,
                        attempts = e.attempts,
                        events = e.batch.events.len(),
                        "outbox batch parked"
                    );
                }
                continue;
            }
            if self.batches.claim(&e, now).await? && self.queue.send(e.body, 0).await.is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// One page of a walk through the outbox from `from` (at most [`STATUS_PER_SHARD`]
    /// batches of each shard): the parked ones among them (oldest first), how many batches it
    /// read, and where to continue (`None`: the outbox was read to its end).
    pub async fn status(&self, from: &OutboxCursor) -> Result<OutboxStatus> {
        let (read, read_to) = self.batches.page(from, STATUS_PER_SHARD).await?;
        let waiting = read.len();
        let mut parked: Vec<OutboxEntry> = read.into_iter().filter(|e| e.parked).collect();
        parked.sort_by(|a, b| a.batch.batch_id.cmp(&b.batch.batch_id));
        Ok(OutboxStatus {
            parked,
            waiting,
            next: read_to.remaining(),
        })
    }

    /// Sends a parked batch to the queue again (its re-send count starts over); `404` when no
    /// parked batch has this id.
    pub async fn redrive(&self, batch_id: &str) -> Result<()> {
        let not_found = || Error::NotFound("No parked outbox batch has this id.".into());
        let shard = EventBatch::shard_of_id(batch_id).ok_or_else(not_found)?;
        if self.redrive_one(shard, batch_id).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// Redrives the parked batches of one page of the outbox walk from `from` (as
    /// [`Outbox::status`] reads it), shard by shard and oldest first, at most `limit` (up to
    /// [`REDRIVE_LIMIT`]); and where to continue (`None`: nothing left to read). Each redrive is
    /// the one of [`Outbox::redrive`]: a batch redriven twice, by two calls at once included,
    /// is sent once.
    pub async fn redrive_parked(&self, from: &OutboxCursor, limit: usize) -> Result<Redriven> {
        let limit = limit.clamp(1, REDRIVE_LIMIT);
        let (read, read_to) = self.batches.page(from, STATUS_PER_SHARD).await?;
        let mut parked: Vec<OutboxEntry> = read.into_iter().filter(|e| e.parked).collect();
        parked.sort_by(|a, b| {
            (a.batch.shard, &a.batch.batch_id).cmp(&(b.batch.shard, &b.batch.batch_id))
        });
        let mut redriven = 0;
        let mut last: Option<&OutboxEntry> = None;
        for (tried, e) in parked.iter().enumerate() {
            if tried == limit {
                // Stopped before `e`: continue in its shard after the last one tried there.
                let last_here = last
                    .filter(|l| l.batch.shard == e.batch.shard)
                    .map(|l| l.batch.batch_id.as_str());
                let next = from.stopped_at(&read_to, e.batch.shard, last_here);
                return Ok(Redriven {
                    redriven,
                    next: next.remaining(),
                });
            }
            if self.redrive_one(e.batch.shard, &e.batch.batch_id).await? {
                redriven += 1;
            }
            last = Some(e);
        }
        Ok(Redriven {
            redriven,
            next: read_to.remaining(),
        })
    }

    /// The one redrive rule: un-park the batch (conditional on it being parked, so only one
    /// caller wins) and send it; `false` when no such batch is parked. If the send fails the
    /// batch stays un-parked with a re-send claimed now, so the sweep sends it after the grace
    /// period.
    async fn redrive_one(&self, shard: u32, batch_id: &str) -> Result<bool> {
        let Some(body) = self
            .batches
            .redrive(shard, batch_id, time::now().as_second())
            .await?
        else {
            return Ok(false);
        };
        self.queue.send(body, 0).await?;
        tracing::info!(batch_id, "outbox batch redriven");
        Ok(true)
    }

    // The consumer's side: a batch stays in the outbox until its events are fanned out.

    /// Whether the batch is still in the outbox (not yet fanned out).
    pub async fn contains(&self, shard: u32, batch_id: &str) -> Result<bool> {
        self.batches.contains(shard, batch_id).await
    }

    /// Which of `batches` are still in the outbox (their ids).
    pub async fn present(&self, batches: &[&EventBatch]) -> Result<BTreeSet<String>> {
        self.batches.present(batches).await
    }

    /// Removes a fanned-out batch (idempotent).
    pub async fn delete(&self, shard: u32, batch_id: &str) -> Result<()> {
        self.batches.delete(shard, batch_id).await
    }

    /// Removes fanned-out batches, 25 per call (idempotent).
    pub async fn delete_batches(&self, batches: &[&EventBatch]) -> Result<()> {
        self.batches.delete_batches(batches).await
    }
}
