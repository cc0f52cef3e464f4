//! The activity log of incoming webhooks: one item per execution, newest first
//! (`pk = IWH#{id}#RUNS`, `sk = {run ulid}`), expiring after the log retention.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys;
use super::{from_item, repository, to_item, QuerySpec, Walk};
pub use crate::domain::incoming::run::Run;
use crate::domain::page::{Page, PageRequest};
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct RunItem {
    pk: String,
    sk: String,
    data: Run,
    expires_at: i64,
    /// The erasure that redacted this run, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    erased_by: Option<String>,
}

repository!(
    /// Runs (executions) of incoming webhooks.
    RunRepo,
    expiring with the log
);

impl RunRepo {
    /// A run's write, for the execution's transaction.
    pub fn put(&self, run: &Run) -> Result<TransactWriteItem> {
        let item = to_item(&RunItem {
            pk: keys::runs(run.webhook_id),
            sk: run.id.clone(),
            data: run.clone(),
            expires_at: self.retention.expires_at(crate::domain::time::now()),
            erased_by: None,
        })?;
        self.table.put(item, None)
    }

    /// Records a failed run outside any transaction (best effort, logged on failure).
    pub async fn record(&self, run: &Run) {
        let write = self.put(run);
        let result = match write {
            Ok(w) => self.table.transact(vec![((), w)]).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, webhook_id = run.webhook_id, "could not record run");
        }
    }

    /// Activity log, newest first.
    pub async fn list(&self, webhook_id: i64, req: &PageRequest) -> Result<Page<Run>> {
        let page = self
            .table
            .page(
                &QuerySpec::table(keys::runs(webhook_id)).newest_first(),
                req,
            )
            .await?;
        page.try_map(|i| from_item::<RunItem>(i).map(|r| r.data))
    }

    /// One page of a webhook's runs, oldest first, each with the erasure that redacted it;
    /// and whether more follow.
    pub async fn walk(
        &self,
        webhook_id: i64,
        walk: &Walk,
    ) -> Result<(Vec<(Run, Option<String>)>, bool)> {
        let decode = |i| from_item::<RunItem>(i).map(|r| (r.data, r.erased_by));
        self.table.walk(&keys::runs(webhook_id), walk, decode).await
    }

    /// Rewrites a run in place for erasure `erasure_id`, keeping its expiry; a run the log
    /// dropped meanwhile stays dropped.
    pub async fn replace(&self, run: &Run, erasure_id: &str) -> Result<()> {
        let data = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(run).map_err(Error::dep)?;
        self.table
            .update_if(
                &keys::runs(run.webhook_id),
                &run.id,
                "SET #d = :d, erased_by = :e",
                "attribute_exists(pk)",
                &[("#d", "data")],
                vec![(":d", data), (":e", super::s(erasure_id))],
            )
            .await
            .map(|_| ())
    }
}
