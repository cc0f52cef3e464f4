//! The transactional outbox: events written in the same transaction as the change that made
//! them; removed by the consumer once fanned out; re-sent by the sweeper if SQS never got them.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys;
use super::{from_item, to_item, QuerySpec, Store};
use crate::aws::OrUnavailable;
use crate::domain::events::{EventBatch, OUTBOX_SHARDS};
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct OutboxItem {
    pk: String,
    sk: String,
    /// The batch as JSON text, exactly what goes on the queue.
    body: String,
    created_at: i64,
}

impl Store {
    pub fn put_outbox(&self, batch: &EventBatch) -> Result<TransactWriteItem> {
        let item = to_item(&OutboxItem {
            pk: keys::outbox(batch.shard),
            sk: batch.batch_id.clone(),
            body: serde_json::to_string(batch).map_err(Error::dep)?,
            created_at: jiff::Timestamp::now().as_second(),
        })?;
        self.put(item, None)
    }

    /// Removes a batch once its events are fanned out (idempotent).
    pub async fn delete_outbox(&self, shard: u32, batch_id: &str) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(super::key(keys::outbox(shard), batch_id)))
            .send()
            .await
            .or_unavailable("DeleteItem")?;
        Ok(())
    }

    pub async fn outbox_contains(&self, shard: u32, batch_id: &str) -> Result<bool> {
        Ok(self.get(&keys::outbox(shard), batch_id).await?.is_some())
    }

    /// Outbox batches older than `older_than_secs` (their queue message was probably lost).
    pub async fn stale_outbox(&self, older_than_secs: i64) -> Result<Vec<(EventBatch, String)>> {
        let cutoff = ulid::Ulid::from_parts(
            u64::try_from((jiff::Timestamp::now().as_second() - older_than_secs).max(0) * 1000)
                .unwrap_or(0),
            0,
        )
        .to_string();
        let mut out = Vec::new();
        for shard in 0..OUTBOX_SHARDS {
            for item in self
                .query_all(&QuerySpec::table(keys::outbox(shard)))
                .await?
            {
                let o: OutboxItem = from_item(item)?;
                if o.sk < cutoff {
                    if let Ok(batch) = serde_json::from_str::<EventBatch>(&o.body) {
                        out.push((batch, o.body));
                    }
                }
            }
        }
        Ok(out)
    }
}
