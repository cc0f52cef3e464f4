//! Recover (SPEC §6.7): every delivery of an endpoint that ended `failed` since a time gets a
//! new attempt (same `delivery_id`), as a background job on the event queue. The job walks
//! the endpoint's `failed` index partition in delivery-id order (ids start with the event's
//! time, so "since" is a key range), one page at a time, saving its progress after each page.

use futures::{stream, StreamExt};
use serde_json::{Map, Value};

use super::jobs::JobMessage;
use super::Deliveries;
use super::Trigger;
use crate::domain::recover::{JobStatus, RecoverJob};
use crate::domain::time;
use crate::error::{Error, Result};

/// Deliveries attempted per page, and pages per queue message.
const PAGE: i32 = 25;
const PAGES_PER_MESSAGE: usize = 4;

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
        let total = self
            .deliveries
            .failed_after_count(webhook_id, &after)
            .await?;
        let now = time::now_rfc3339();
        let job = RecoverJob {
            recover_id: time::new_ulid().to_string(),
            webhook_id,
            since: time::rfc3339(since),
            status: JobStatus::Running,
            total,
            attempted: 0,
            cursor: Some(after),
            created_at: now.clone(),
            updated_at: now,
        };
        let retention = self.config.log_retention_days;
        if !self.recover_jobs.create(&job, retention).await? {
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

    /// One step of a job: a few pages of attempts, then the next step is queued (or done).
    pub(crate) async fn recover_step(&self, webhook_id: i64, recover_id: &str) -> Result<()> {
        let Some(mut job) = self.recover_jobs.get(webhook_id, recover_id).await? else {
            return Ok(());
        };
        let ep = self.webhooks.get(webhook_id).await?;
        let retention = self.config.log_retention_days;
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
            if let (Some(ep), Some(last)) = (&ep, page.last()) {
                job.cursor = Some(last.id.clone());
                let results: Vec<Result<_>> = stream::iter(page.iter().cloned())
                    .map(|d| self.attempt(ep, d, Trigger::Manual))
                    .buffer_unordered(self.config.dispatch_concurrency)
                    .collect()
                    .await;
                for r in results {
                    r?;
                }
            }
            job.attempted += page.len() as u64;
            if !more || page.is_empty() {
                job.status = JobStatus::Done;
            }
            job.updated_at = time::now_rfc3339();
            if !self.recover_jobs.save(&job, prev, retention).await? {
                return Ok(()); // a duplicate message advanced it first
            }
        }
        let message = JobMessage::Recover {
            webhook_id,
            recover_id: recover_id.to_string(),
        };
        self.send_job(&message, 0).await
    }
}
