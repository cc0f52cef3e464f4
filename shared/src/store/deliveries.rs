//! Deliveries: one item per (event, endpoint), every attempt inside it.
//!
//! `pk = WEBHOOK#{id}#DELIVERIES`, `sk = {delivery ulid}` lists an endpoint's deliveries newest
//! first; `gsi1pk = WEBHOOK#{id}#{status}` lists them by status with exact counts (the index entry
//! moves when the status changes). `attempt_count` is kept at top level for the optimistic
//! conditions that make concurrent or repeated processing harmless.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::keys;
use super::{from_item, key, n, to_item, QuerySpec, Store};
use crate::domain::page::{Page, PageRequest};
use crate::error::Result;

/// One HTTP attempt of a delivery.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Attempt {
    pub attempt: u32,
    pub attempted_at: String,
    /// Sent headers; signatures and custom header values redacted.
    pub request_headers: BTreeMap<String, String>,
    pub response_code: Option<u16>,
    /// At most 1 KiB of the response body.
    pub response_body: String,
    /// Milliseconds until the response (or the error).
    pub response_time: u64,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: i64,
    pub event_id: String,
    pub event: String,
    /// `pending` (waiting for a retry), `success` or `failed`.
    pub status: String,
    /// The exact body sent (and signed) on every attempt.
    pub payload: String,
    /// The body's content type when it is not `application/json` (template endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub attempts: Vec<Attempt>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
}

/// Most attempts kept per delivery (redeliveries can add more; the oldest are dropped).
pub const MAX_ATTEMPTS_KEPT: usize = 25;

impl Delivery {
    /// The content type the body is sent with.
    pub fn content_type(&self) -> &str {
        self.content_type
            .as_deref()
            .unwrap_or(crate::domain::format::JSON)
    }

    pub fn last(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    /// The seed's log row.
    pub fn summary(&self) -> Value {
        let last = self.last();
        json!({
            "id": self.id,
            "event": self.event,
            "status": self.status,
            "response_code": last.and_then(|a| a.response_code),
            "response_time": last.map(|a| a.response_time),
            "attempts": self.attempts.len(),
            "attempted_at": last.map(|a| a.attempted_at.clone()),
            "next_attempt_at": self.next_attempt_at,
        })
    }

    /// A single delivery with every attempt.
    pub fn detail(&self) -> Value {
        let mut v = self.summary();
        v["webhook_id"] = json!(self.webhook_id);
        v["event_id"] = json!(self.event_id);
        v["payload"] = json!(self.payload);
        v["content_type"] = json!(self.content_type());
        v["attempts"] = json!(self.attempts);
        v["attempt_count"] = json!(self.attempts.len());
        v["created_at"] = json!(self.created_at);
        v
    }
}

#[derive(Serialize, Deserialize)]
struct DeliveryItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    data: Delivery,
    attempt_count: usize,
    expires_at: i64,
}

impl Store {
    fn delivery_item(&self, d: &Delivery, retention_days: i64) -> Result<super::Item> {
        to_item(&DeliveryItem {
            pk: keys::deliveries(d.webhook_id),
            sk: d.id.clone(),
            gsi1pk: keys::deliveries_by_status(d.webhook_id, &d.status),
            gsi1sk: d.id.clone(),
            data: d.clone(),
            attempt_count: d.attempts.len(),
            expires_at: crate::domain::time::ttl_after_days(retention_days),
        })
    }

    /// Stores a delivery only if no record exists (first processing of an event).
    pub async fn delivery_create(&self, d: &Delivery, retention_days: i64) -> Result<bool> {
        self.put_if(
            self.delivery_item(d, retention_days)?,
            "attribute_not_exists(pk)",
            vec![],
        )
        .await
    }

    /// Stores a delivery only if nobody recorded an attempt since we read it
    /// (`prev_attempts` attempts).
    pub async fn delivery_save(
        &self,
        d: &Delivery,
        prev_attempts: usize,
        retention_days: i64,
    ) -> Result<bool> {
        self.put_if(
            self.delivery_item(d, retention_days)?,
            "attempt_count = :prev",
            vec![(":prev", n(prev_attempts))],
        )
        .await
    }

    pub async fn delivery_get(
        &self,
        webhook_id: i64,
        delivery_id: &str,
    ) -> Result<Option<Delivery>> {
        Ok(self
            .get_as::<DeliveryItem>(&keys::deliveries(webhook_id), delivery_id)
            .await?
            .map(|i| i.data))
    }

    /// The deliveries that already exist among `wanted` (webhook id, delivery id).
    pub async fn deliveries_existing(
        &self,
        wanted: &[(i64, String)],
    ) -> Result<HashMap<String, Delivery>> {
        let keys = wanted
            .iter()
            .map(|(wid, did)| key(keys::deliveries(*wid), did.clone()))
            .collect();
        let mut found = HashMap::new();
        for item in self.batch_get(keys, None).await? {
            let d = from_item::<DeliveryItem>(item)?.data;
            found.insert(d.id.clone(), d);
        }
        Ok(found)
    }

    /// An endpoint's deliveries, newest first, optionally in one status.
    pub async fn deliveries(
        &self,
        webhook_id: i64,
        status: Option<&str>,
        req: &PageRequest,
    ) -> Result<Page<Delivery>> {
        let spec = match status {
            Some(st) => QuerySpec::gsi1(keys::deliveries_by_status(webhook_id, st)),
            None => QuerySpec::table(keys::deliveries(webhook_id)),
        }
        .newest_first();
        self.page(&spec, req)
            .await?
            .try_map(|i| from_item::<DeliveryItem>(i).map(|d| d.data))
    }
}
