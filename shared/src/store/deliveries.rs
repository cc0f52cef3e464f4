//! Deliveries: one item per (event, endpoint), every attempt inside it.
//!
//! `pk = WEBHOOK#{id}#DELIVERIES`, `sk = {delivery ulid}` lists an endpoint's deliveries newest
//! first; `gsi1pk = WEBHOOK#{id}#{status}` lists them by status with exact counts (the index entry
//! moves when the status changes). `attempt_count` is kept at top level for the optimistic
//! conditions that make concurrent or repeated processing harmless. The record is written and
//! read whole: the body sent is its own string attribute `payload` (it never changes), and the
//! rest of the delivery — status, attempts — is one JSON string `data` (see [`super::json_text`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::keys;
use super::{from_item, key, repository, s, to_item, QuerySpec, Retention};
use crate::domain::delivery::{Delivery, DeliveryStatus};
use crate::domain::page::{Page, PageRequest};
use crate::error::Error;
use crate::error::Result;

#[derive(Serialize, Deserialize)]
struct DeliveryItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    /// Absent in records written before it had its own attribute (then it is in `data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
    /// The delivery, its payload left empty when `payload` holds it.
    #[serde(with = "super::json_text")]
    data: Delivery,
    attempt_count: usize,
    expires_at: i64,
    /// The erasure that redacted this delivery, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    erased_by: Option<String>,
}

impl From<DeliveryItem> for Delivery {
    fn from(item: DeliveryItem) -> Self {
        let mut d = item.data;
        if let Some(payload) = item.payload {
            d.payload = payload;
        }
        d
    }
}

fn delivery(item: super::Item) -> Result<Delivery> {
    from_item::<DeliveryItem>(item).map(Delivery::from)
}

repository!(
    /// Deliveries of outgoing webhooks, each with its attempts.
    DeliveryRepo,
    expiring with the log
);

impl DeliveryRepo {
    /// How long deliveries are kept.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    fn delivery_item(&self, d: &Delivery) -> Result<super::Item> {
        let mut data = d.clone();
        let payload = std::mem::take(&mut data.payload);
        to_item(&DeliveryItem {
            pk: keys::deliveries(d.webhook_id),
            sk: d.id.clone(),
            gsi1pk: keys::deliveries_by_status(d.webhook_id, d.status),
            gsi1sk: d.id.clone(),
            payload: Some(payload),
            data,
            attempt_count: d.total_attempts(),
            expires_at: self.retention.expires_at(crate::domain::time::now()),
            erased_by: None,
        })
    }

    /// Stores a delivery only if no record exists (first processing of an event).
    pub async fn create(&self, d: &Delivery) -> Result<bool> {
        self.table.put_absent(self.delivery_item(d)?).await
    }

    /// Stores a delivery only if nobody recorded an attempt since we read it
    /// (`prev_attempts` attempts).
    pub async fn save(&self, d: &Delivery, prev_attempts: usize) -> Result<bool> {
        let prev = u64::try_from(prev_attempts).unwrap_or(u64::MAX);
        self.table
            .put_unchanged(self.delivery_item(d)?, "attempt_count", prev)
            .await
    }

    pub async fn get(&self, webhook_id: i64, delivery_id: &str) -> Result<Option<Delivery>> {
        Ok(self
            .table
            .get_as::<DeliveryItem>(&keys::deliveries(webhook_id), delivery_id)
            .await?
            .map(Delivery::from))
    }

    /// The deliveries that already exist among `wanted` (webhook id, delivery id).
    pub async fn existing(&self, wanted: &[(i64, String)]) -> Result<HashMap<String, Delivery>> {
        let keys = wanted
            .iter()
            .map(|(wid, did)| key(keys::deliveries(*wid), did.clone()))
            .collect();
        let mut found = HashMap::new();
        for item in self.table.batch_get(keys, None).await? {
            let d = delivery(item)?;
            found.insert(d.id.clone(), d);
        }
        Ok(found)
    }

    /// An endpoint's deliveries, newest first, optionally in one status.
    pub async fn list(
        &self,
        webhook_id: i64,
        status: Option<DeliveryStatus>,
        req: &PageRequest,
    ) -> Result<Page<Delivery>> {
        let spec = match status {
            Some(st) => QuerySpec::gsi1(keys::deliveries_by_status(webhook_id, st)),
            None => QuerySpec::table(keys::deliveries(webhook_id)),
        }
        .newest_first();
        self.table.page(&spec, req).await?.try_map(delivery)
    }

    /// Creates a delivery that waits in its FIFO endpoint's line: the record and the line
    /// entry together, only if the delivery is new. `false` when it already existed.
    pub async fn create_in_line(&self, d: &Delivery) -> Result<bool> {
        let record = self.table.put_new(self.delivery_item(d)?)?;
        let entry = self.table.put(
            super::jobs::line_entry(d.webhook_id, &d.event_id, &d.id),
            None,
        )?;
        Ok(self
            .table
            .transact(vec![(0, record), (1, entry)])
            .await?
            .is_ok())
    }

    /// Failed deliveries of an endpoint whose id sorts after `after` (ids start with the event
    /// time), oldest first; and whether more follow.
    pub async fn failed_after(
        &self,
        webhook_id: i64,
        after: &str,
        limit: i32,
    ) -> Result<(Vec<Delivery>, bool)> {
        let out = self
            .failed_query(webhook_id, after)
            .limit(limit)
            .send()
            .await
            .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        let more = out.last_evaluated_key.is_some_and(|k| !k.is_empty());
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(delivery)
            .collect::<Result<Vec<_>>>()?;
        Ok((items, more))
    }

    /// How many deliveries [`DeliveryRepo::failed_after`] would walk through, counting at most
    /// `cap` (pages of `Select::Count`, the last one limited): `(count, is_lower_bound)`, the
    /// flag set when more than `cap` exist (the count is then `cap`).
    pub async fn failed_after_count(
        &self,
        webhook_id: i64,
        after: &str,
        cap: u64,
    ) -> Result<(u64, bool)> {
        let query = self.failed_query(webhook_id, after);
        let mut total = 0u64;
        let mut start = None;
        loop {
            // One more than the cap tells "more than `cap`" from "exactly `cap`".
            let room =
                i32::try_from(cap.saturating_sub(total).saturating_add(1)).unwrap_or(i32::MAX);
            let out = query
                .clone()
                .select(aws_sdk_dynamodb::types::Select::Count)
                .limit(room)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            total += u64::try_from(out.count).unwrap_or(0);
            if total > cap {
                return Ok((cap, true));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((total, false)),
            }
        }
    }

    fn failed_query(
        &self,
        webhook_id: i64,
        after: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.table
            .client
            .query()
            .table_name(&self.table.name)
            .index_name(super::GSI1)
            .key_condition_expression("gsi1pk = :p AND gsi1sk > :after")
            .expression_attribute_values(
                ":p",
                s(keys::deliveries_by_status(
                    webhook_id,
                    DeliveryStatus::Failed,
                )),
            )
            .expression_attribute_values(":after", s(after))
    }

    /// Up to `limit` pending deliveries of an endpoint, oldest first (the sweeper's check).
    pub async fn pending(&self, webhook_id: i64, limit: i32) -> Result<Vec<Delivery>> {
        self.oldest_in(webhook_id, DeliveryStatus::Pending, limit)
            .await
    }

    /// Up to `limit` held deliveries of a paused endpoint, oldest (first published) first.
    pub async fn held(&self, webhook_id: i64, limit: i32) -> Result<Vec<Delivery>> {
        self.oldest_in(webhook_id, DeliveryStatus::Held, limit)
            .await
    }

    /// How many deliveries of an endpoint are in `status` (index partition, `Select::Count`).
    pub async fn count(&self, webhook_id: i64, status: DeliveryStatus) -> Result<u64> {
        count_all(
            self.table
                .client
                .query()
                .table_name(&self.table.name)
                .index_name(super::GSI1)
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(
                    ":p",
                    s(keys::deliveries_by_status(webhook_id, status)),
                ),
        )
        .await
    }

    async fn oldest_in(
        &self,
        webhook_id: i64,
        status: DeliveryStatus,
        limit: i32,
    ) -> Result<Vec<Delivery>> {
        let out = self
            .table
            .client
            .query()
            .table_name(&self.table.name)
            .index_name(super::GSI1)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(keys::deliveries_by_status(webhook_id, status)))
            .limit(limit)
            .send()
            .await
            .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(delivery)
            .collect()
    }

    /// Creates new deliveries in as few calls as possible: conditional transactions of up to
    /// 100 items (and ~3.5 MB); a chunk whose condition fails (a concurrent run created some)
    /// is retried one item at a time. Returns, per delivery, whether this call created it.
    pub async fn create_batch(&self, ds: &[&Delivery]) -> Result<Vec<bool>> {
        let mut created = Vec::with_capacity(ds.len());
        for chunk in transaction_chunks(ds) {
            if chunk.len() == 1 {
                created.push(self.create(chunk[0]).await?);
                continue;
            }
            let mut items = Vec::with_capacity(chunk.len());
            for d in &chunk {
                items.push((0, self.table.put_new(self.delivery_item(d)?)?));
            }
            if self.table.transact(items).await?.is_ok() {
                created.extend(std::iter::repeat_n(true, chunk.len()));
                continue;
            }
            for d in chunk {
                created.push(self.create(d).await?);
            }
        }
        Ok(created)
    }
}

impl DeliveryRepo {
    /// One page of an endpoint's deliveries, oldest first, each with the erasure that
    /// redacted it; and whether more follow.
    pub async fn walk(
        &self,
        webhook_id: i64,
        walk: &super::Walk,
    ) -> Result<(Vec<(Delivery, Option<String>)>, bool)> {
        let decode = |i| {
            let item = from_item::<DeliveryItem>(i)?;
            let by = item.erased_by.clone();
            Ok((Delivery::from(item), by))
        };
        self.table
            .walk(&keys::deliveries(webhook_id), walk, decode)
            .await
    }

    /// Rewrites a delivery's body and attempts in place for erasure `erasure_id`, keeping its
    /// expiry and status, only if no attempt was recorded since it was read; `false` otherwise.
    pub async fn replace(&self, d: &Delivery, erasure_id: &str) -> Result<bool> {
        let mut data = d.clone();
        let payload = std::mem::take(&mut data.payload);
        let prev = u64::try_from(d.total_attempts()).unwrap_or(u64::MAX);
        Ok(self
            .table
            .update_if(
                &keys::deliveries(d.webhook_id),
                &d.id,
                "SET #d = :d, payload = :p, erased_by = :e",
                "attempt_count = :prev",
                &[("#d", "data")],
                vec![
                    (":d", super::json_text::attribute(&data)?),
                    (":p", s(payload)),
                    (":prev", super::n(prev)),
                    (":e", s(erasure_id)),
                ],
            )
            .await?
            .is_some())
    }
}

/// Splits deliveries into transactions: at most 100 items and about 3.5 MB each (DynamoDB's
/// limits are 100 items and 4 MB).
fn transaction_chunks<'a>(ds: &[&'a Delivery]) -> Vec<Vec<&'a Delivery>> {
    const MAX_BYTES: usize = 3_500_000;
    let mut out: Vec<Vec<&Delivery>> = Vec::new();
    let mut bytes = 0;
    for d in ds {
        let size = d.payload.len() + 4096;
        let full = out
            .last()
            .is_none_or(|c| c.len() >= 100 || bytes + size > MAX_BYTES);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(c) = out.last_mut() {
            c.push(*d);
        }
    }
    out
}

/// How many items a query matches, page by page (`Select::Count`).
async fn count_all(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<u64> {
    let mut total = 0u64;
    let mut start = None;
    loop {
        let out = query
            .clone()
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        total += u64::try_from(out.count).unwrap_or(0);
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(total),
        }
    }
}
