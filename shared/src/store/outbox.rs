//! The transactional outbox: events written in the same transaction as the change that made
//! them; forwarded to SQS from the table's stream by `relay` (which marks each batch `acked`);
//! removed by the consumer once fanned out; re-sent by the sweeper only if the stream gave up on
//! it — each re-send claimed by a conditional update (an ever-growing `attempts`), and parked
//! after too many (with a TTL) for an operator to inspect and redrive.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys;
use super::query::QuerySpec;
use super::{from_item, n, repository, to_item, TxResult};
use crate::aws::OrUnavailable;
use crate::domain::events::{EventBatch, OutboxCursor, OutboxEntry, ShardPosition, OUTBOX_SHARDS};
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct OutboxItem {
    pk: String,
    sk: String,
    /// The batch as JSON text, exactly what goes on the queue.
    body: String,
    created_at: i64,
    /// Re-sends so far (the claim's guard).
    #[serde(default)]
    attempts: u32,
    /// When the last re-send was claimed (the lease).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sent_at: Option<i64>,
    /// Given up on after too many re-sends: waits for an operator's redrive.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    parked: bool,
    /// When `relay` handed the batch to SQS (the sweeper re-sends an acked batch only once it
    /// outlived `ACKED_RESEND_SECONDS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acked_at: Option<i64>,
    /// DynamoDB TTL of a parked batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

/// How long a parked batch waits for an operator's redrive before its TTL removes it.
pub const PARKED_TTL_SECS: i64 = 14 * 86_400;

/// A batch as the table's stream shows it (a `NEW_IMAGE` of an outbox item).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamedBatch {
    pub shard: u32,
    pub batch_id: String,
    /// Exactly what goes on the queue.
    pub body: String,
}

/// The outbox batch in a stream record's new image; `None` for any other item.
pub fn streamed_batch(image: serde_dynamo::Item) -> Option<StreamedBatch> {
    let item: OutboxItem = serde_dynamo::from_item(image).ok()?;
    let shard = keys::outbox_shard(&item.pk)?;
    Some(StreamedBatch {
        shard,
        batch_id: item.sk,
        body: item.body,
    })
}

/// The claim's condition: the batch still exists and nobody re-sent it since it was read.
fn unchanged(attempts: u32) -> &'static str {
    if attempts == 0 {
        "attribute_exists(pk) AND (attribute_not_exists(attempts) OR attempts = :seen)"
    } else {
        "attribute_exists(pk) AND attempts = :seen"
    }
}

/// An outbox item as an entry (`None` when its body is not a batch).
fn entry(item: super::Item) -> Result<Option<OutboxEntry>> {
    let o: OutboxItem = from_item(item)?;
    Ok(serde_json::from_str::<EventBatch>(&o.body)
        .ok()
        .map(|batch| OutboxEntry {
            batch,
            body: o.body,
            created_at: o.created_at,
            attempts: o.attempts,
            sent_at: o.sent_at,
            parked: o.parked,
        }))
}

repository!(
    /// Outbox batches: events committed with the change that caused them.
    OutboxRepo
);

impl OutboxRepo {
    /// Commits `items` and, in the same transaction, `batches` (their writes tagged `tag`).
    pub async fn commit<T: Clone>(
        &self,
        mut items: Vec<(T, TransactWriteItem)>,
        batches: &[EventBatch],
        tag: T,
    ) -> Result<TxResult<T>> {
        for b in batches {
            items.push((tag.clone(), self.put(b)?));
        }
        self.table.transact(items).await
    }

    fn put(&self, batch: &EventBatch) -> Result<TransactWriteItem> {
        let item = to_item(&OutboxItem {
            pk: keys::outbox(batch.shard),
            sk: batch.batch_id.clone(),
            body: serde_json::to_string(batch).map_err(Error::dep)?,
            created_at: jiff::Timestamp::now().as_second(),
            attempts: 0,
            sent_at: None,
            parked: false,
            acked_at: None,
            expires_at: None,
        })?;
        self.table.put(item, None)
    }

    /// Marks a batch handed to SQS (no-op when the consumer already removed it).
    pub async fn ack(&self, shard: u32, batch_id: &str, now: i64) -> Result<()> {
        self.table
            .update_if(
                &keys::outbox(shard),
                batch_id,
                "SET acked_at = :now",
                "attribute_exists(pk)",
                &[],
                vec![(":now", n(now))],
            )
            .await
            .map(|_| ())
    }

    /// Removes a batch once its events are fanned out (idempotent).
    pub async fn delete(&self, shard: u32, batch_id: &str) -> Result<()> {
        self.table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .set_key(Some(super::key(keys::outbox(shard), batch_id)))
            .send()
            .await
            .or_unavailable("DeleteItem")?;
        Ok(())
    }

    /// Deletes fanned-out batches, 25 per `BatchWriteItem`.
    pub async fn delete_batches(&self, batches: &[&EventBatch]) -> Result<()> {
        let keys = batches
            .iter()
            .map(|b| super::key(keys::outbox(b.shard), &b.batch_id))
            .collect();
        self.table.delete_all(keys).await.map(|_| ())
    }

    pub async fn contains(&self, shard: u32, batch_id: &str) -> Result<bool> {
        Ok(self
            .table
            .get(&keys::outbox(shard), batch_id)
            .await?
            .is_some())
    }

    /// Which of `batches` are still in the outbox (one BatchGetItem per 100, keys only).
    pub async fn present(
        &self,
        batches: &[&EventBatch],
    ) -> Result<std::collections::BTreeSet<String>> {
        let keys = batches
            .iter()
            .map(|b| super::key(keys::outbox(b.shard), b.batch_id.as_str()))
            .collect();
        Ok(self
            .table
            .batch_get(keys, Some("sk"))
            .await?
            .into_iter()
            .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
            .collect())
    }

    /// Batches of `shard` created before `created_before` (epoch seconds) that are not parked
    /// and that nobody acked — or that `relay` acked before `acked_before` and are still here
    /// (their message was dead-lettered or lost, or their removal failed) — oldest first: a key
    /// condition on age (the sort key is the batch's ULID), at most `limit` evaluated per call.
    pub async fn stale(
        &self,
        shard: u32,
        created_before: i64,
        acked_before: i64,
        limit: i32,
    ) -> Result<Vec<OutboxEntry>> {
        let cutoff =
            ulid::Ulid::from_parts(u64::try_from(created_before.max(0) * 1000).unwrap_or(0), 0)
                .to_string();
        let spec = QuerySpec::table(keys::outbox(shard))
            .before(cutoff)
            .filter("attribute_not_exists(parked)");
        self.table
            .first(&spec, limit)
            .await?
            .into_iter()
            .filter(|item| {
                item.get("acked_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_none_or(|acked| acked < acked_before)
            })
            .filter_map(|item| entry(item).transpose())
            .collect()
    }

    /// One page of a walk through the outbox from `from`: at most `per_shard` batches of each
    /// shard not read to its end (one query per such shard, in parallel), oldest first within
    /// a shard, and where the walk stands after them: what `GET /admin/outbox` reads inside
    /// one request, however large the outbox grows.
    pub async fn page(
        &self,
        from: &OutboxCursor,
        per_shard: i32,
    ) -> Result<(Vec<OutboxEntry>, OutboxCursor)> {
        let reads = (0..OUTBOX_SHARDS).map(|shard| async move {
            let after = match from.position(shard) {
                ShardPosition::Done => return Ok((shard, vec![], ShardPosition::Done)),
                ShardPosition::Start => None,
                ShardPosition::After(id) => Some(id.clone()),
            };
            let walk = super::query::Walk {
                // The batch `after` is read again (and dropped): one more to read.
                limit: per_shard + i32::from(after.is_some()),
                after,
                until: "~".into(),
            };
            let decode = |item: super::Item| {
                let sk = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                Ok((sk, entry(item)?))
            };
            let (rows, more) = self.table.walk(&keys::outbox(shard), &walk, decode).await?;
            let next = match rows.last() {
                Some((sk, _)) if more => ShardPosition::After(sk.clone()),
                _ if more => from.position(shard).clone(),
                _ => ShardPosition::Done,
            };
            Ok::<_, Error>((shard, rows, next))
        });
        let mut entries = Vec::new();
        let mut next = from.clone();
        for read in futures::future::join_all(reads).await {
            let (shard, rows, position) = read?;
            entries.extend(rows.into_iter().filter_map(|(_, e)| e));
            next.set(shard, position);
        }
        Ok((entries, next))
    }

    /// Claims one re-send of a batch read with `attempts`: `false` when another sweeper (or a
    /// consumer's delete) got there first.
    pub async fn claim(&self, e: &OutboxEntry, now: i64) -> Result<bool> {
        Ok(self
            .table
            .update_if(
                &keys::outbox(e.batch.shard),
                &e.batch.batch_id,
                "SET attempts = :next, sent_at = :now",
                unchanged(e.attempts),
                &[],
                vec![
                    (":seen", n(i64::from(e.attempts))),
                    (":next", n(i64::from(e.attempts) + 1)),
                    (":now", n(now)),
                ],
            )
            .await?
            .is_some())
    }

    /// Parks a batch read with `attempts` (once: `false` if it changed meanwhile).
    pub async fn park(&self, e: &OutboxEntry) -> Result<bool> {
        Ok(self
            .table
            .update_if(
                &keys::outbox(e.batch.shard),
                &e.batch.batch_id,
                "SET parked = :yes, expires_at = :ttl",
                unchanged(e.attempts),
                &[],
                vec![
                    (":seen", n(i64::from(e.attempts))),
                    (":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
                    (
                        ":ttl",
                        n(jiff::Timestamp::now().as_second() + PARKED_TTL_SECS),
                    ),
                ],
            )
            .await?
            .is_some())
    }

    /// Un-parks a batch for another round of re-sends (counted from zero), claiming the first
    /// at `now`; `None` when no such parked batch exists.
    pub async fn redrive(&self, shard: u32, batch_id: &str, now: i64) -> Result<Option<String>> {
        let updated = self
            .table
            .update_if(
                &keys::outbox(shard),
                batch_id,
                "SET attempts = :one, sent_at = :now REMOVE parked, expires_at",
                "attribute_exists(pk) AND parked = :yes",
                &[],
                vec![
                    (":one", n(1)),
                    (":now", n(now)),
                    (":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
                ],
            )
            .await?;
        updated
            .map(|item| from_item::<OutboxItem>(item).map(|o| o.body))
            .transpose()
    }
}
