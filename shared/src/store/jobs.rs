//! Delivery-side bookkeeping: FIFO lines and their lease, recover jobs, operator notices.

use serde::{Deserialize, Serialize};

use super::keys;
use super::{key, n, repository, s, to_item};
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
    RecoverRepo
);
repository!(
    /// FIFO lines: one entry per delivery waiting its turn, and the line's lease.
    LineRepo
);
repository!(
    /// Operator notices: one claim per event, so an alert is sent once.
    NoticeRepo
);

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
    fn job_item(&self, job: &RecoverJob, retention_days: i64) -> Result<super::Item> {
        to_item(&JobItem {
            pk: keys::recover_jobs(job.webhook_id),
            sk: job.recover_id.clone(),
            data: job.clone(),
            attempted: job.attempted,
            expires_at: crate::domain::time::ttl_after_days(retention_days),
        })
    }

    pub async fn create(&self, job: &RecoverJob, retention_days: i64) -> Result<bool> {
        self.table
            .put_absent(self.job_item(job, retention_days)?)
            .await
    }

    /// Saves progress only if nobody else advanced the job since it was read.
    pub async fn save(
        &self,
        job: &RecoverJob,
        prev_attempted: u64,
        retention_days: i64,
    ) -> Result<bool> {
        self.table
            .put_unchanged(
                self.job_item(job, retention_days)?,
                "attempted",
                prev_attempted,
            )
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
    pub async fn claim(&self, event_id: &str, retention_days: i64) -> Result<bool> {
        let mut item = key(keys::notice(event_id), keys::NOTICE_SK);
        item.insert(
            "expires_at".into(),
            n(crate::domain::time::ttl_after_days(retention_days)),
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
