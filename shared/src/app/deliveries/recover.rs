//! Recover (docs/reference/outgoing.md#recover): every delivery of an endpoint that ended `failed`
//! since a time gets a new attempt (same `delivery_id`), as a background job on the event queue.
//! The job walks the endpoint's `failed` index partition in delivery-id order (ids start with the
//! event's time, so "since" is a key range), one page at a time, saving its progress after each
//! page.
//!
//! A step never outlives its message: it starts no attempt that could not finish within
//! [`STEP_BUDGET`] (or the invocation's deadline), saves the progress of the attempts that
//! finished, and continues in a new step message. An attempt that cannot be made (a store or
//! queue error) ends the step the same way, the next one starting at that delivery after
//! [`RETRY_STEP_DELAY`]; after [`MAX_STEP_ERRORS`] such steps in a row the job ends `done`, so
//! no job stays `running` forever and no step message retries into the DLQ. `attempted` never
//! exceeds `total` (deliveries that failed after the job started raise `total`).

use std::time::{Duration, Instant};

use futures::{stream, StreamExt};
use serde_json::{Map, Value};

use super::jobs::JobMessage;
use super::Deliveries;
use super::Trigger;
use crate::domain::delivery::machine::recoverable;
use crate::domain::recover::{JobStatus, RecoverJob, RECOVER_COUNT_CAP};
use crate::domain::time;
use crate::error::{Error, Result};

/// Deliveries attempted per page, and pages per queue message.
const PAGE: i32 = 25;
const PAGES_PER_MESSAGE: usize = 4;

/// How long one step message may keep attempting before handing over to the next.
const STEP_BUDGET: Duration = Duration::from_secs(60);

/// The delay of the next step after a step whose attempt could not be made.
const RETRY_STEP_DELAY: i32 = 30;

/// Steps in a row that could not make an attempt, after which the job ends.
const MAX_STEP_ERRORS: u32 = 5;

/// `since`: an RFC 3339 date-time.
fn parse_since(body: &Map<String, Value>) -> Result<jiff::Timestamp> {
    let bad = || {
        Error::invalid(
            "since",
            "must be an RFC 3339 date-time, e.g. 2024-01-15T10:30:00Z",
        )
    };
    match body.get("since") {
        Some(Value::String(s)) => s.trim().parse::<jiff::Timestamp>().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

impl Deliveries {
    /// `POST /admin/webhooks/{id}/recover`: counts the failed deliveries since `since`, stores
    /// the job and queues its first step.
    pub async fn recover_start(
        &self,
        webhook_id: i64,
        body: &Map<String, Value>,
    ) -> Result<RecoverJob> {
        let since = parse_since(body)?;
        self.webhooks
            .get(webhook_id)
            .await?
            .ok_or_else(|| Error::NotFound("Webhook not found.".into()))?;
        let ms = u64::try_from(since.as_millisecond()).unwrap_or(0);
        let after = ulid::Ulid::from_parts(ms, 0).to_string();
        let (total, total_is_lower_bound) = self
            .deliveries
            .failed_after_count(webhook_id, &after, RECOVER_COUNT_CAP)
            .await?;
        let now = time::now_s();
        let job = RecoverJob {
            recover_id: time::new_ulid().to_string(),
            webhook_id,
            since: time::second(since),
            status: JobStatus::Running,
            total,
            total_is_lower_bound,
            attempted: 0,
            cursor: Some(after),
            created_at: now,
            updated_at: now,
            step_errors: 0,
        };
        if !self.recover_jobs.create(&job).await? {
            return Err(Error::Conflict("Please retry.".into()));
        }
        let message = JobMessage::Recover {
            webhook_id,
            recover_id: job.recover_id.clone(),
        };
        self.send_job(&message, 0).await?;
        Ok(job)
    }

    pub async fn recover_get(&self, webhook_id: i64, recover_id: &str) -> Result<RecoverJob> {
        self.recover_jobs
            .get(webhook_id, recover_id)
            .await?
            .ok_or_else(|| Error::NotFound("Recover job not found.".into()))
    }

    /// One step of a job: a few pages of attempts within [`STEP_BUDGET`], progress saved,
    /// then the next step is queued (or the job is done).
    pub(crate) async fn recover_step(&self, webhook_id: i64, recover_id: &str) -> Result<()> {
        let Some(mut job) = self.recover_jobs.get(webhook_id, recover_id).await? else {
            return Ok(());
        };
        let ep = self.webhooks.get(webhook_id).await?;
        let started = Instant::now();
        let attempt_time = Duration::from_secs(self.config.delivery_timeout_seconds.max(1));
        let has_time = || {
            let now = Instant::now();
            started.elapsed() + attempt_time <= STEP_BUDGET && self.lanes.time_for_one_more(now)
        };
        let mut next_delay = 0;
        for _ in 0..PAGES_PER_MESSAGE {
            if job.status == JobStatus::Done {
                return Ok(());
            }
            let prev = job.attempted;
            let after = job.cursor.clone().unwrap_or_default();
            let (page, more) = match &ep {
                Some(_) => {
                    self.deliveries
                        .failed_after(webhook_id, &after, PAGE)
                        .await?
                }
                None => (vec![], false),
            };
            let mut handled = page.len();
            let mut stopped = false;
            if let Some(ep) = &ep {
                // In order, so that the attempts that finished are a prefix of the page.
                let results: Vec<Result<_>> = stream::iter(page.iter().cloned())
                    .take_while(|_| std::future::ready(has_time()))
                    .map(|d| async move {
                        if recoverable(&d) {
                            self.attempt(ep, d, Trigger::Manual).await.map(|_| ())
                        } else {
                            Ok(())
                        }
                    })
                    .buffered(self.config.dispatch_concurrency.max(1))
                    .collect()
                    .await;
                handled = results.iter().take_while(|r| r.is_ok()).count();
                if let Some(Err(e)) = results.get(handled) {
                    tracing::warn!(error = %e, recover_id, "recover attempt not made; next step later");
                    job.step_errors += 1;
                    next_delay = RETRY_STEP_DELAY;
                } else {
                    job.step_errors = 0;
                }
                stopped = handled < page.len();
                if let Some(last) = handled.checked_sub(1).and_then(|i| page.get(i)) {
                    job.cursor = Some(last.id.clone());
                }
            }
            job.attempted += handled as u64;
            job.total = job.total.max(job.attempted);
            if (!more && !stopped) || page.is_empty() || job.step_errors >= MAX_STEP_ERRORS {
                job.status = JobStatus::Done;
            }
            job.updated_at = time::now_s();
            if !self.recover_jobs.save(&job, prev).await? {
                return Ok(()); // a duplicate message advanced it first
            }
            if stopped {
                break;
            }
        }
        if job.status == JobStatus::Done {
            return Ok(());
        }
        let message = JobMessage::Recover {
            webhook_id,
            recover_id: recover_id.to_string(),
        };
        self.send_job(&message, next_delay).await
    }
}
