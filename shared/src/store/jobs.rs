//! Background bookkeeping: FIFO lines and their lease, recover jobs, operator notices, erasure
//! jobs.

use serde::{Deserialize, Serialize};

use super::keys;
use super::{key, n, repository, s, to_item};
use crate::domain::erasure::ErasureJob;
use crate::domain::recover::RecoverJob;
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct JobItem {
    pk: String,
    sk: String,
    data: RecoverJob,
    attempted: u64,
    expires_at: i64,
}

repository!(
    /// Recover jobs: one item per job, its progress counted in `attempted`.
    RecoverRepo,
    expiring with the log
);
repository!(
    /// FIFO lines: one entry per delivery waiting its turn, and the line's lease.
    LineRepo
);
repository!(
    /// Operator notices: one claim per event, so an alert is sent once.
    NoticeRepo,
    expiring with the log
);
repository!(
    /// Erasure jobs: one item per job, its progress counted in `steps`, and one claim per
    /// member naming their job.
    ErasureRepo,
    expiring with the log
);

#[derive(Serialize, Deserialize)]
struct ErasureItem {
    pk: String,
    sk: String,
    data: ErasureJob,
    steps: u64,
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct ErasureClaim {
    pk: String,
    sk: String,
    erasure_id: String,
    expires_at: i64,
}

/// The line entry of a delivery (written in the transaction that creates the delivery).
pub(super) fn line_entry(webhook_id: i64, event_id: &str, delivery_id: &str) -> super::Item {
    let mut item = key(keys::line(webhook_id), format!("{event_id}#{delivery_id}"));
    item.insert("delivery_id".into(), s(delivery_id));
    item
}

/// One entry of a FIFO line.
#[derive(Clone, Debug, PartialEq)]
pub struct LineEntry {
    pub sort_key: String,
    pub event_id: String,
    pub delivery_id: String,
}

impl RecoverRepo {
    fn job_item(&self, job: &RecoverJob) -> Result<super::Item> {
        to_item(&JobItem {
            pk: keys::recover_jobs(job.webhook_id),
            sk: job.recover_id.clone(),
            data: job.clone(),
            attempted: job.attempted,
            expires_at: self.retention.expires_at(crate::domain::time::now()),
        })
    }

    pub async fn create(&self, job: &RecoverJob) -> Result<bool> {
        self.table.put_absent(self.job_item(job)?).await
    }

    /// Saves progress only if nobody else advanced the job since it was read.
    pub async fn save(&self, job: &RecoverJob, prev_attempted: u64) -> Result<bool> {
        self.table
            .put_unchanged(self.job_item(job)?, "attempted", prev_attempted)
            .await
    }

    pub async fn get(&self, webhook_id: i64, recover_id: &str) -> Result<Option<RecoverJob>> {
        Ok(self
            .table
            .get_as::<JobItem>(&keys::recover_jobs(webhook_id), recover_id)
            .await?
            .map(|i| i.data))
    }
}

impl LineRepo {
    /// The first entries of a line, oldest event first.
    pub async fn head(&self, webhook_id: i64, limit: i32) -> Result<Vec<LineEntry>> {
        let out = self
            .table
            .client
            .query()
            .table_name(&self.table.name)
            .key_condition_expression("pk = :p AND sk < :lease")
            .expression_attribute_values(":p", s(keys::line(webhook_id)))
            .expression_attribute_values(":lease", s(keys::LINE_LEASE))
            .consistent_read(true)
            .limit(limit)
            .send()
            .await
            .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|i| {
                let sort_key = i.get("sk")?.as_s().ok()?.clone();
                let (event_id, delivery_id) = sort_key.split_once('#')?;
                Some(LineEntry {
                    event_id: event_id.to_string(),
                    delivery_id: delivery_id.to_string(),
                    sort_key: sort_key.clone(),
                })
            })
            .collect())
    }

    pub async fn remove(&self, webhook_id: i64, sort_key: &str) -> Result<()> {
        self.table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .set_key(Some(key(keys::line(webhook_id), sort_key)))
            .send()
            .await
            .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Takes the line's lease until `until` (unix ms) unless someone else holds it.
    pub async fn claim(&self, webhook_id: i64, owner: &str, now: i64, until: i64) -> Result<bool> {
        Ok(self
            .table
            .update_if(
                &keys::line(webhook_id),
                keys::LINE_LEASE,
                "SET lease_until = :until, lease_owner = :me",
                "attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :me",
                &[],
                vec![(":until", n(until)), (":me", s(owner)), (":now", n(now))],
            )
            .await?
            .is_some())
    }

    pub async fn release(&self, webhook_id: i64, owner: &str) -> Result<()> {
        self.table
            .update_if(
                &keys::line(webhook_id),
                keys::LINE_LEASE,
                "SET lease_until = :zero",
                "lease_owner = :me",
                &[],
                vec![(":zero", n(0)), (":me", s(owner))],
            )
            .await?;
        Ok(())
    }
}

impl NoticeRepo {
    /// Claims the right to send the operator notice of one event; `false` if already claimed.
    pub async fn claim(&self, event_id: &str) -> Result<bool> {
        let mut item = key(keys::notice(event_id), keys::NOTICE_SK);
        item.insert(
            "expires_at".into(),
            n(self.retention.expires_at(crate::domain::time::now())),
        );
        self.table.put_absent(item).await
    }

    /// Gives the claim back (the email could not be sent; the message will be retried).
    pub async fn unclaim(&self, event_id: &str) -> Result<()> {
        self.table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .set_key(Some(key(keys::notice(event_id), keys::NOTICE_SK)))
            .send()
            .await
            .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}

impl ErasureRepo {
    fn job_item(&self, job: &ErasureJob) -> Result<super::Item> {
        to_item(&ErasureItem {
            pk: keys::erasure(&job.erasure_id),
            sk: keys::ERASURE_SK.into(),
            data: job.clone(),
            steps: job.steps,
            expires_at: self.retention.expires_at(crate::domain::time::now()),
        })
    }

    /// Stores a new job and the member's claim on it together; `false` when the member's
    /// erasure exists already.
    pub async fn create(&self, job: &ErasureJob) -> Result<bool> {
        let claim = to_item(&ErasureClaim {
            pk: keys::erasure_of_user(job.user_id),
            sk: keys::ERASURE_OF_USER_SK.into(),
            erasure_id: job.erasure_id.clone(),
            expires_at: self.retention.expires_at(crate::domain::time::now()),
        })?;
        let items = vec![
            ((), self.table.put_new(self.job_item(job)?)?),
            ((), self.table.put_new(claim)?),
        ];
        Ok(self.table.transact(items).await?.is_ok())
    }

    /// Saves progress only if nobody else advanced the job since it was read.
    pub async fn save(&self, job: &ErasureJob, prev_steps: u64) -> Result<bool> {
        self.table
            .put_unchanged(self.job_item(job)?, "steps", prev_steps)
            .await
    }

    pub async fn get(&self, erasure_id: &str) -> Result<Option<ErasureJob>> {
        Ok(self
            .table
            .get_as::<ErasureItem>(&keys::erasure(erasure_id), keys::ERASURE_SK)
            .await?
            .map(|i| i.data))
    }

    /// The erasure of member `user_id`, if one was started (and not yet expired).
    pub async fn of_user(&self, user_id: i64) -> Result<Option<ErasureJob>> {
        let claim = self
            .table
            .get_as::<ErasureClaim>(&keys::erasure_of_user(user_id), keys::ERASURE_OF_USER_SK)
            .await?;
        match claim {
            Some(c) => self.get(&c.erasure_id).await,
            None => Ok(None),
        }
    }
}
