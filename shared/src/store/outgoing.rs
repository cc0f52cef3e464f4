//! Outgoing webhook endpoints: `pk = WEBHOOK`, `sk = {id:012}`; the admin-edited configuration
//! under `data` (one JSON string, see [`super::json_text`]: `dispatch` reads every endpoint for
//! each batch of events) with its `revision` beside it for the optimistic edit, the delivery
//! state (`status`, `last_triggered_at`, `last_error`, `consecutive_failures`) at top level, so
//! deliveries and edits never overwrite each other.
//!
//! The secrets inside `data` (`secret`, `previous_secret.secret`, custom header values) are
//! sealed by the [`Vault`] on every write and opened on every read
//! (docs/reference/security.md#secrets-at-rest); an item written before sealing existed reads as it
//! is and is sealed by its next `save`.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::keys;
use super::{from_item, n, s, to_item, Item, QuerySpec, Table};
use crate::domain::outgoing::{OutgoingConfig, OutgoingStatus, OutgoingWebhook};
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::Result;
use crate::vault::Vault;

#[derive(Serialize, Deserialize)]
struct OutgoingItem {
    pk: String,
    sk: String,
    #[serde(with = "super::json_text")]
    data: OutgoingConfig,
    /// `data`'s revision, for the edit's condition (absent in items written before: then the
    /// condition reads it inside `data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revision: Option<i64>,
    status: OutgoingStatus,
    #[serde(default)]
    last_triggered_at: Option<jiff::Timestamp>,
    #[serde(default)]
    last_error: Option<String>,
    #[serde(default)]
    consecutive_failures: i64,
    /// Set when an admin re-activates a failed endpoint; cleared (with `endpoint.recovered`) by
    /// its next successful delivery.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    recovering: bool,
}

impl From<OutgoingItem> for OutgoingWebhook {
    fn from(i: OutgoingItem) -> Self {
        OutgoingWebhook {
            config: i.data,
            status: i.status,
            last_triggered_at: i.last_triggered_at,
            last_error: i.last_error,
            consecutive_failures: i.consecutive_failures,
            recovering: i.recovering,
        }
    }
}

/// Outgoing webhooks: their configuration (secrets sealed) and health.
#[derive(Clone, Debug)]
pub struct OutgoingRepo {
    table: Table,
    vault: Vault,
}

impl OutgoingRepo {
    pub fn new(table: Table, vault: Vault) -> Self {
        Self { table, vault }
    }

    /// The configuration as stored: every secret sealed.
    async fn sealed(&self, cfg: &OutgoingConfig) -> Result<OutgoingConfig> {
        let mut c = cfg.clone();
        c.secret = self.vault.seal(&c.secret).await?;
        if let Some(p) = c.previous_secret.as_mut() {
            p.secret = self.vault.seal(&p.secret).await?;
        }
        for v in c.headers.values_mut() {
            *v = self.vault.seal(v).await?;
        }
        Ok(c)
    }

    /// An endpoint as read: every secret opened (plaintext ones, stored before, as they are).
    async fn webhook(&self, item: Item) -> Result<OutgoingWebhook> {
        let mut w = OutgoingWebhook::from(from_item::<OutgoingItem>(item)?);
        let c = &mut w.config;
        c.secret = self.vault.open(&c.secret).await?;
        if let Some(p) = c.previous_secret.as_mut() {
            p.secret = self.vault.open(&p.secret).await?;
        }
        for v in c.headers.values_mut() {
            *v = self.vault.open(v).await?;
        }
        Ok(w)
    }

    async fn webhooks(&self, items: Vec<Item>) -> Result<Vec<OutgoingWebhook>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.webhook(item).await?);
        }
        Ok(out)
    }
    /// The next outgoing webhook id.
    pub async fn next_id(&self) -> Result<i64> {
        self.table.next_id("webhook").await
    }

    pub async fn get(&self, id: i64) -> Result<Option<OutgoingWebhook>> {
        match self.table.get(keys::WEBHOOK, &keys::id_sk(id)).await? {
            Some(item) => self.webhook(item).await.map(Some),
            None => Ok(None),
        }
    }

    /// The first endpoint id after `after` (all of them, one at a time, without a Scan).
    pub async fn id_after(&self, after: Option<i64>) -> Result<Option<i64>> {
        self.table.id_after(keys::WEBHOOK, after).await
    }

    pub async fn list(&self, req: &PageRequest) -> Result<Page<OutgoingWebhook>> {
        let page = self
            .table
            .page(&QuerySpec::table(keys::WEBHOOK), req)
            .await?;
        let Page {
            items,
            total,
            total_exact,
            per_page,
            current_page,
            next_cursor,
        } = page;
        Ok(Page {
            items: self.webhooks(items).await?,
            total,
            total_exact,
            per_page,
            current_page,
            next_cursor,
        })
    }

    /// Every endpoint (one Query per event batch in `dispatch`).
    pub async fn all(&self) -> Result<Vec<OutgoingWebhook>> {
        let items = self
            .table
            .query_all(&QuerySpec::table(keys::WEBHOOK))
            .await?;
        self.webhooks(items).await
    }

    /// Stores a new endpoint; `false` when its id is taken.
    pub async fn create(&self, e: &OutgoingWebhook) -> Result<bool> {
        self.table
            .put_absent(to_item(&OutgoingItem {
                pk: keys::WEBHOOK.into(),
                sk: keys::id_sk(e.id()),
                data: self.sealed(&e.config).await?,
                revision: Some(e.config.revision),
                status: e.status,
                last_triggered_at: None,
                last_error: None,
                consecutive_failures: 0,
                recovering: false,
            })?)
            .await
    }

    /// Saves edited configuration (optimistic on `revision`); setting `status` to `active`
    /// also clears the failure count, and re-activating a `failed` endpoint (`reactivated`)
    /// marks it recovering. Returns the stored endpoint, or `None` on a conflict.
    pub async fn save(
        &self,
        cfg: &OutgoingConfig,
        prev_revision: i64,
        status: Option<OutgoingStatus>,
        reactivated: bool,
    ) -> Result<Option<OutgoingWebhook>> {
        let mut expr = "SET #d = :d, #r = :rev".to_string();
        let mut values = vec![
            (":d", super::json_text::attribute(&self.sealed(cfg).await?)?),
            (":rev", n(cfg.revision)),
            (":prev", n(prev_revision)),
        ];
        if let Some(st) = status {
            expr.push_str(", #s = :s");
            if st == OutgoingStatus::Active {
                expr.push_str(", consecutive_failures = :zero");
                values.push((":zero", n(0)));
            }
            if reactivated {
                expr.push_str(", recovering = :yes");
                values.push((":yes", AttributeValue::Bool(true)));
            }
            values.push((":s", s(<&str>::from(st))));
        }
        let names: &[(&str, &str)] = if status.is_some() {
            &[("#d", "data"), ("#r", "revision"), ("#s", "status")]
        } else {
            &[("#d", "data"), ("#r", "revision")]
        };
        let updated = self
            .table
            .update_if(
                keys::WEBHOOK,
                &keys::id_sk(cfg.id),
                &expr,
                "attribute_exists(pk) AND (#r = :prev OR (attribute_not_exists(#r) AND #d.#r = :prev))",
                names,
                values,
            )
            .await?;
        match updated {
            Some(item) => self.webhook(item).await.map(Some),
            None => Ok(None),
        }
    }

    pub async fn delete(&self, id: i64) -> Result<bool> {
        self.table
            .delete_if_exists(keys::WEBHOOK, &keys::id_sk(id))
            .await
    }

    /// A successful delivery: `last_triggered_at`, and the failure count back to zero.
    pub async fn succeeded(&self, id: i64, now: jiff::Timestamp) -> Result<()> {
        self.table
            .update_if(
                keys::WEBHOOK,
                &keys::id_sk(id),
                "SET last_triggered_at = :t, consecutive_failures = :zero",
                "attribute_exists(pk)",
                &[],
                vec![(":t", s(time::rfc3339(now))), (":zero", n(0))],
            )
            .await?;
        Ok(())
    }

    /// Successful deliveries to several endpoints: one transaction per 100 endpoints (one at a
    /// time when an endpoint was deleted meanwhile).
    pub async fn all_succeeded(&self, ids: &[i64], now: jiff::Timestamp) -> Result<()> {
        for chunk in ids.chunks(100) {
            if chunk.len() > 1 {
                let mut items = Vec::with_capacity(chunk.len());
                for id in chunk {
                    items.push((*id, self.succeeded_item(*id, now)?));
                }
                if self.table.transact(items).await?.is_ok() {
                    continue;
                }
            }
            for id in chunk {
                self.succeeded(*id, now).await?;
            }
        }
        Ok(())
    }

    fn succeeded_item(&self, id: i64, now: jiff::Timestamp) -> Result<TransactWriteItem> {
        self.table.update(
            keys::WEBHOOK,
            &keys::id_sk(id),
            "SET last_triggered_at = :t, consecutive_failures = :zero",
            Some("attribute_exists(pk)"),
            &[],
            vec![(":t", s(time::rfc3339(now))), (":zero", n(0))],
        )
    }

    /// The first success of a re-activated endpoint: clears `recovering` — only one writer wins
    /// the condition, so `endpoint.recovered` is published once (in the same transaction).
    pub fn recovered(&self, id: i64, now: jiff::Timestamp) -> Result<TransactWriteItem> {
        self.table.update(
            keys::WEBHOOK,
            &keys::id_sk(id),
            "SET last_triggered_at = :t, consecutive_failures = :zero REMOVE recovering",
            Some("recovering = :yes"),
            &[],
            vec![
                (":t", s(time::rfc3339(now))),
                (":zero", n(0)),
                (":yes", AttributeValue::Bool(true)),
            ],
        )
    }

    /// A failed attempt: `last_error`.
    pub async fn errored(&self, id: i64, error: &str) -> Result<()> {
        self.table
            .update_if(
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

    /// A delivery whose retries are exhausted: one more consecutive failure. Returns the new
    /// count (the delivery state machine says whether it disables the endpoint).
    pub async fn delivery_failed(&self, id: i64, error: &str) -> Result<i64> {
        let updated = self
            .table
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
        Ok(count)
    }

    /// Sets an active endpoint `failed` (410 Gone, or too many failures), as a transaction item:
    /// the condition lets exactly one caller win, and the operator notice travels with it.
    pub fn disable(&self, id: i64, error: &str) -> Result<TransactWriteItem> {
        self.table.update(
            keys::WEBHOOK,
            &keys::id_sk(id),
            "SET #s = :failed, last_error = :e REMOVE recovering",
            Some("attribute_exists(pk) AND #s = :active"),
            &[("#s", "status")],
            vec![
                (":failed", s(<&str>::from(OutgoingStatus::Failed))),
                (":active", s(<&str>::from(OutgoingStatus::Active))),
                (":e", s(error)),
            ],
        )
    }
}
