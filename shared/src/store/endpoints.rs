//! Outgoing webhook endpoints: `pk = WEBHOOK`, `sk = {id:012}`; the admin-edited configuration
//! under `data`, the delivery state (`status`, `last_triggered_at`, `last_error`,
//! `consecutive_failures`) at top level, so deliveries and edits never overwrite each other.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys;
use super::{from_item, n, s, to_item, Item, QuerySpec, Store};
use crate::domain::endpoint::{Endpoint, EndpointConfig};
use crate::domain::page::{Page, PageRequest};
use crate::error::{Error, Result};

/// Consecutive failed deliveries after which an endpoint is set `failed`.
pub const FAILURES_BEFORE_DISABLE: i64 = 5;

#[derive(Serialize, Deserialize)]
struct EndpointItem {
    pk: String,
    sk: String,
    data: EndpointConfig,
    status: String,
    #[serde(default)]
    last_triggered_at: Option<String>,
    #[serde(default)]
    last_error: Option<String>,
    #[serde(default)]
    consecutive_failures: i64,
}

impl From<EndpointItem> for Endpoint {
    fn from(i: EndpointItem) -> Self {
        Endpoint {
            config: i.data,
            status: i.status,
            last_triggered_at: i.last_triggered_at,
            last_error: i.last_error,
            consecutive_failures: i.consecutive_failures,
        }
    }
}

fn endpoint(item: Item) -> Result<Endpoint> {
    from_item::<EndpointItem>(item).map(Endpoint::from)
}

impl Store {
    pub async fn endpoint_get(&self, id: i64) -> Result<Option<Endpoint>> {
        self.get(keys::WEBHOOK, &keys::id_sk(id))
            .await?
            .map(endpoint)
            .transpose()
    }

    pub async fn endpoint_list(&self, req: &PageRequest) -> Result<Page<Endpoint>> {
        self.page(&QuerySpec::table(keys::WEBHOOK), req)
            .await?
            .try_map(endpoint)
    }

    /// Every endpoint (one Query per event batch in `dispatch`).
    pub async fn endpoints_all(&self) -> Result<Vec<Endpoint>> {
        self.query_all(&QuerySpec::table(keys::WEBHOOK))
            .await?
            .into_iter()
            .map(endpoint)
            .collect()
    }

    pub fn create_endpoint(&self, e: &Endpoint) -> Result<TransactWriteItem> {
        self.put_new(to_item(&EndpointItem {
            pk: keys::WEBHOOK.into(),
            sk: keys::id_sk(e.id()),
            data: e.config.clone(),
            status: e.status.clone(),
            last_triggered_at: None,
            last_error: None,
            consecutive_failures: 0,
        })?)
    }

    /// Saves edited configuration (optimistic on `revision`); setting `status` to `active`
    /// also clears the failure count. Returns the stored endpoint, or `None` on a conflict.
    pub async fn endpoint_save(
        &self,
        cfg: &EndpointConfig,
        prev_revision: i64,
        status: Option<&str>,
    ) -> Result<Option<Endpoint>> {
        let data = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(cfg).map_err(Error::dep)?;
        let mut expr = "SET #d = :d".to_string();
        let mut values = vec![(":d", data), (":prev", n(prev_revision))];
        if let Some(st) = status {
            expr.push_str(", #s = :s");
            if st == "active" {
                expr.push_str(", consecutive_failures = :zero");
                values.push((":zero", n(0)));
            }
            values.push((":s", s(st)));
        }
        let names: &[(&str, &str)] = if status.is_some() {
            &[("#d", "data"), ("#r", "revision"), ("#s", "status")]
        } else {
            &[("#d", "data"), ("#r", "revision")]
        };
        let updated = self
            .update_if(
                keys::WEBHOOK,
                &keys::id_sk(cfg.id),
                &expr,
                "attribute_exists(pk) AND #d.#r = :prev",
                names,
                values,
            )
            .await?;
        updated.map(endpoint).transpose()
    }

    pub async fn endpoint_delete(&self, id: i64) -> Result<bool> {
        self.delete_if_exists(keys::WEBHOOK, &keys::id_sk(id)).await
    }

    /// A successful delivery: `last_triggered_at`, and the failure count back to zero.
    pub async fn endpoint_succeeded(&self, id: i64, now: &str) -> Result<()> {
        self.update_if(
            keys::WEBHOOK,
            &keys::id_sk(id),
            "SET last_triggered_at = :t, consecutive_failures = :zero",
            "attribute_exists(pk)",
            &[],
            vec![(":t", s(now)), (":zero", n(0))],
        )
        .await?;
        Ok(())
    }

    /// A failed attempt: `last_error`.
    pub async fn endpoint_errored(&self, id: i64, error: &str) -> Result<()> {
        self.update_if(
            keys::WEBHOOK,
            &keys::id_sk(id),
            "SET last_error = :e",
            "attribute_exists(pk)",
            &[],
            vec![(":e", s(error))],
        )
        .await?;
        Ok(())
    }

    /// A delivery whose retries are exhausted: one more consecutive failure; the fifth sets the
    /// endpoint `failed`. Returns whether the endpoint is now failed.
    pub async fn endpoint_delivery_failed(&self, id: i64, error: &str) -> Result<bool> {
        let updated = self
            .update_if(
                keys::WEBHOOK,
                &keys::id_sk(id),
                "SET last_error = :e ADD consecutive_failures :one",
                "attribute_exists(pk)",
                &[],
                vec![(":e", s(error)), (":one", n(1))],
            )
            .await?;
        let count = updated
            .and_then(|a| {
                a.get("consecutive_failures")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok())
            })
            .unwrap_or(0);
        if count >= FAILURES_BEFORE_DISABLE {
            self.endpoint_disable(id, error).await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Sets an active endpoint `failed` (410 Gone, or too many failures).
    pub async fn endpoint_disable(&self, id: i64, error: &str) -> Result<()> {
        self.update_if(
            keys::WEBHOOK,
            &keys::id_sk(id),
            "SET #s = :failed, last_error = :e",
            "attribute_exists(pk) AND #s = :active",
            &[("#s", "status")],
            vec![
                (":failed", s("failed")),
                (":active", s("active")),
                (":e", s(error)),
            ],
        )
        .await?;
        Ok(())
    }
}
