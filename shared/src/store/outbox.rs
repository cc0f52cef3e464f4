//! The transactional outbox: events written in the same transaction as the change that made
//! them; forwarded to SQS from the table's stream by `relay` (which marks each batch `acked`);
//! removed by the consumer once fanned out; re-sent by the sweeper only if the stream gave up on
//! it — each re-send claimed by a conditional update (an ever-growing `attempts`), and parked
//! after too many (with a TTL) for an operator to inspect and redrive.
//!
//! A batch still in the outbox is also on the sparse `gsi2` index, `OUTBOXDUE#{shard}` /
//! `{ULID of when the sweeper looks at it next}`: written with the batch (due at its own ULID),
//! moved on by `relay`'s ack (due [`ACKED_RESEND_SECONDS`] later: by then its message was
//! fanned out, or dead-lettered or lost) and by each claimed re-send (due again at the claim's
//! time), and removed when the sweeper parks it. The sweep's range query on that index therefore
//! returns only batches it has to look at: recently acked and parked batches, however many,
//! never fill its page.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys;
use super::query::QuerySpec;
use super::{from_item, n, repository, s, to_item, TxResult};
use crate::aws::OrUnavailable;
use crate::domain::events::{
    EventBatch, OutboxCursor, OutboxEntry, ShardPosition, ACKED_RESEND_SECONDS, OUTBOX_SHARDS,
};
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
    /// outlived [`ACKED_RESEND_SECONDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acked_at: Option<i64>,
    /// DynamoDB TTL of a parked batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    /// `OUTBOXDUE#{shard}` while the sweeper may have to re-send the batch (sparse `gsi2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    /// When the sweeper looks at it next: a ULID's time prefix (`due_sk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
}

/// The `gsi2` sort key of a batch due at `secs` (epoch seconds): a ULID of that millisecond,
/// so it sorts with the batch ids the batches are first due at.
fn due_sk(secs: i64) -> String {
    let ms = u64::try_from(secs.max(0).saturating_mul(1000)).unwrap_or(0);
    ulid::Ulid::from_parts(ms, 0).to_string()
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

/// The outbox batch in a stream record's new image; `None` for any other item, and for a batch
/// inserted already parked (a restore or an operator's import: it waits for a redrive, as the
/// sweeper left it, instead of going out behind the operator's back).
pub fn streamed_batch(image: serde_dynamo::Item) -> Option<StreamedBatch> {
    let item: OutboxItem = serde_dynamo::from_item(image).ok()?;
    if item.parked {
        return None;
    }
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
            gsi2pk: Some(keys::outbox_due(batch.shard)),
            gsi2sk: Some(batch.batch_id.clone()),
        })?;
        self.table.put(item, None)
    }

    /// Marks a batch handed to SQS, due for the sweeper's look [`ACKED_RESEND_SECONDS`] later
    /// (no-op when the consumer already removed it).
    pub async fn ack(&self, shard: u32, batch_id: &str, now: i64) -> Result<()> {
        self.table
            .update_if(
                &keys::outbox(shard),
                batch_id,
                "SET acked_at = :now, gsi2sk = :due",
                "attribute_exists(pk)",
                &[],
                vec![
                    (":now", n(now)),
                    (":due", s(due_sk(now + ACKED_RESEND_SECONDS))),
                ],
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

    /// Batches of `shard` due for the sweeper's look before `due_before` (epoch seconds) —
    /// created then and never acked, acked [`ACKED_RESEND_SECONDS`] earlier and still here
    /// (their message was dead-lettered or lost, or their removal failed), or last re-sent then
    /// — not parked, most overdue first, at most `limit`: a range query on the sweeper's sparse
    /// index (keys only), then one consistent `BatchGetItem` of the batches. A batch whose item
    /// moved on since the index showed it (fanned out, acked, parked, or claimed by another
    /// sweeper) is left out.
    pub async fn stale(&self, shard: u32, due_before: i64, limit: i32) -> Result<Vec<OutboxEntry>> {
        let spec = QuerySpec::gsi2(keys::outbox_due(shard)).before(due_sk(due_before));
        let text = |i: &super::Item, name: &str| Some(i.get(name)?.as_s().ok()?.clone());
        let seen: std::collections::HashMap<String, String> = self
            .table
            .first(&spec, limit)
            .await?
            .iter()
            .filter_map(|i| Some((text(i, "sk")?, text(i, "gsi2sk")?)))
            .collect();
        if seen.is_empty() {
            return Ok(vec![]);
        }
        let keys = seen
            .keys()
            .map(|sk| super::key(keys::outbox(shard), sk))
            .collect();
        let mut due = Vec::new();
        for item in self.table.batch_get(keys, None).await? {
            // The item's own `gsi2sk` is current (a consistent read); the index may lag.
            let o: OutboxItem = from_item(item.clone())?;
            let Some(at) = o
                .gsi2sk
                .filter(|at| !o.parked && seen.get(&o.sk) == Some(at))
            else {
                continue;
            };
            if let Some(e) = entry(item)? {
                due.push((at, e));
            }
        }
        due.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(due.into_iter().map(|(_, e)| e).collect())
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
                "SET attempts = :next, sent_at = :now, gsi2sk = :due",
                unchanged(e.attempts),
                &[],
                vec![
                    (":seen", n(i64::from(e.attempts))),
                    (":next", n(i64::from(e.attempts) + 1)),
                    (":now", n(now)),
                    (":due", s(due_sk(now))),
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
                "SET parked = :yes, expires_at = :ttl REMOVE gsi2pk, gsi2sk",
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
                "SET attempts = :one, sent_at = :now, gsi2pk = :due_pk, gsi2sk = :due \
                 REMOVE parked, expires_at",
                "attribute_exists(pk) AND parked = :yes",
                &[],
                vec![
                    (":one", n(1)),
                    (":now", n(now)),
                    (":due_pk", s(keys::outbox_due(shard))),
                    (":due", s(due_sk(now))),
                    (":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
                ],
            )
            .await?;
        updated
            .map(|item| from_item::<OutboxItem>(item).map(|o| o.body))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(parked: bool) -> serde_dynamo::Item {
        serde_dynamo::to_item(OutboxItem {
            pk: keys::outbox(3),
            sk: "01KBATCH".into(),
            body: "{}".into(),
            created_at: 1,
            attempts: if parked { 5 } else { 0 },
            sent_at: None,
            parked,
            acked_at: None,
            expires_at: None,
            gsi2pk: None,
            gsi2sk: None,
        })
        .unwrap()
    }

    #[test]
    fn an_inserted_batch_is_relayed_and_a_parked_one_waits_for_its_redrive() {
        let b = streamed_batch(image(false)).expect("a new batch");
        assert_eq!(
            (b.shard, b.batch_id.as_str(), b.body.as_str()),
            (3, "01KBATCH", "{}")
        );
        assert_eq!(streamed_batch(image(true)), None);
    }

    #[test]
    fn a_due_key_sorts_with_the_batch_ids_of_its_time() {
        let at = 1_796_354_185;
        let id = ulid::Ulid::from_parts(at as u64 * 1000 + 1, 7).to_string();
        assert!(due_sk(at) < id);
        assert!(id < due_sk(at + 1));
    }
}
