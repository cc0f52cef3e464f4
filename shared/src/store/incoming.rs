//! Incoming webhooks, their key lookup items and idempotency records (the activity log is [`super::runs`]).
//!
//! The main item (`IWH`/`{id}`) holds the configuration under `data` plus the run counters at
//! top level, so executions (`ADD running_count`) and admin edits (`SET data`) never clobber
//! each other. The key item (`IWHKEY#{key}`) is a copy of `data`, written in the same
//! transaction as every edit, so an execution resolves its webhook with one GetItem.
//!
//! The provider secrets in `data` (`signing_secret`, `source_secret`) are sealed by the
//! [`Vault`] on every write and opened on every read (docs/reference/security.md#secrets-at-rest);
//! items written before read as they are and are sealed by their next edit.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys;
use super::{from_item, n, s, to_item, QuerySpec, Table};
use crate::aws::OrUnavailable;
use crate::domain::incoming::{silence, IncomingWebhook, SourceSecret};
use crate::domain::page::{Page, PageRequest};
use crate::error::{Error, Result};
use crate::vault::Vault;

#[derive(Serialize, Deserialize)]
struct MainItem {
    pk: String,
    sk: String,
    data: IncomingWebhook,
    #[serde(default)]
    running_count: i64,
    #[serde(default)]
    last_run_at: Option<String>,
    /// The silence index (`SILENCE` / due#id), while `expect_every_hours` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
}

impl MainItem {
    fn into_webhook(self) -> IncomingWebhook {
        let mut w = self.data;
        w.running_count = self.running_count;
        w.last_run_at = self.last_run_at;
        w
    }
}

#[derive(Serialize, Deserialize)]
struct KeyItem {
    pk: String,
    sk: String,
    data: IncomingWebhook,
}

/// A stored response for a repeated `Idempotency-Key`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Value,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct IdemItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    r: StoredResponse,
}

/// Incoming webhooks, their runs and stored responses (idempotency keys).
#[derive(Clone, Debug)]
pub struct IncomingRepo {
    table: Table,
    vault: Vault,
}

impl IncomingRepo {
    pub fn new(table: Table, vault: Vault) -> Self {
        Self { table, vault }
    }

    /// The webhook as stored: its provider secrets sealed.
    async fn sealed(&self, w: &IncomingWebhook) -> Result<IncomingWebhook> {
        let mut w = w.clone();
        w.signing_secret = self.vault.seal_opt(w.signing_secret.as_deref()).await?;
        if let Some(s) = &w.source_secret {
            w.source_secret = Some(SourceSecret::new(self.vault.seal(s.expose()).await?));
        }
        Ok(w)
    }

    /// The webhook as read: its provider secrets opened.
    async fn opened(&self, mut w: IncomingWebhook) -> Result<IncomingWebhook> {
        w.signing_secret = self.vault.open_opt(w.signing_secret.as_deref()).await?;
        if let Some(s) = &w.source_secret {
            w.source_secret = Some(SourceSecret::new(self.vault.open(s.expose()).await?));
        }
        Ok(w)
    }

    async fn opened_opt(&self, w: Option<IncomingWebhook>) -> Result<Option<IncomingWebhook>> {
        match w {
            Some(w) => self.opened(w).await.map(Some),
            None => Ok(None),
        }
    }
    /// The next incoming webhook id.
    pub async fn next_id(&self) -> Result<i64> {
        self.table.next_id("incoming_webhook").await
    }

    /// The hot-path lookup: one GetItem on the key item.
    pub async fn by_key(&self, key: &str) -> Result<Option<IncomingWebhook>> {
        let w = self
            .table
            .get_as::<KeyItem>(&keys::webhook_key(key), keys::WEBHOOK_KEY_SK)
            .await?
            .map(|k| k.data);
        self.opened_opt(w).await
    }

    pub async fn get(&self, id: i64) -> Result<Option<IncomingWebhook>> {
        let w = self
            .table
            .get_as::<MainItem>(keys::IWH, &keys::id_sk(id))
            .await?
            .map(MainItem::into_webhook);
        self.opened_opt(w).await
    }

    /// The first incoming webhook id after `after` (all of them, one at a time, without a Scan).
    pub async fn id_after(&self, after: Option<i64>) -> Result<Option<i64>> {
        self.table.id_after(keys::IWH, after).await
    }

    pub async fn list(&self, req: &PageRequest) -> Result<Page<IncomingWebhook>> {
        let page = self.table.page(&QuerySpec::table(keys::IWH), req).await?;
        let mut page = page.try_map(|i| from_item::<MainItem>(i).map(MainItem::into_webhook))?;
        let mut items = Vec::with_capacity(page.items.len());
        for w in std::mem::take(&mut page.items) {
            items.push(self.opened(w).await?);
        }
        page.items = items;
        Ok(page)
    }

    /// Stores a new webhook (its main item and its key item, in one transaction); `false` when
    /// its id or key is taken.
    pub async fn create(&self, w: &IncomingWebhook) -> Result<bool> {
        let w = self.sealed(w).await?;
        self.commit(self.create_items(&w)?).await
    }

    /// Saves an edited webhook (optimistic: only if nobody saved since `prev_revision`); when the
    /// key changed (rotation) the old key item goes in the same transaction. `false` when the
    /// webhook was changed or deleted meanwhile.
    pub async fn update(
        &self,
        w: &IncomingWebhook,
        prev_revision: i64,
        old_key: Option<&str>,
    ) -> Result<bool> {
        let w = self.sealed(w).await?;
        self.commit(self.update_items(&w, prev_revision, old_key)?)
            .await
    }

    /// Deletes a webhook and its key item; `false` when it was already gone.
    pub async fn delete(&self, w: &IncomingWebhook) -> Result<bool> {
        self.commit(self.delete_items(w)?).await
    }

    async fn commit(&self, items: Vec<TransactWriteItem>) -> Result<bool> {
        let items = items.into_iter().map(|i| ((), i)).collect();
        Ok(self.table.transact(items).await?.is_ok())
    }

    fn create_items(&self, w: &IncomingWebhook) -> Result<Vec<TransactWriteItem>> {
        let main = to_item(&MainItem {
            pk: keys::IWH.into(),
            sk: keys::id_sk(w.id),
            data: w.clone(),
            running_count: 0,
            last_run_at: None,
            gsi2pk: w.silence_due().map(|_| keys::SILENCE.to_string()),
            gsi2sk: w.silence_due().map(|due| keys::silence_sk(&due, w.id)),
        })?;
        Ok(vec![self.table.put_new(main)?, self.put_key_item(w, true)?])
    }

    fn put_key_item(&self, w: &IncomingWebhook, creating: bool) -> Result<TransactWriteItem> {
        let item = to_item(&KeyItem {
            pk: keys::webhook_key(&w.key),
            sk: keys::WEBHOOK_KEY_SK.into(),
            data: w.clone(),
        })?;
        self.table.put_creating(item, creating)
    }

    fn update_items(
        &self,
        w: &IncomingWebhook,
        prev_revision: i64,
        old_key: Option<&str>,
    ) -> Result<Vec<TransactWriteItem>> {
        let mut data = w.clone();
        data.running_count = 0;
        data.last_run_at = None;
        let mut values = vec![
            (
                ":d",
                serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(&data).map_err(Error::dep)?,
            ),
            (":prev", n(prev_revision)),
        ];
        // The silence index follows the setting (counted from the later of the last call and
        // this save).
        let expression = match w.silence_due() {
            Some(due) => {
                values.push((":gp", s(keys::SILENCE)));
                values.push((":gs", s(keys::silence_sk(&due, w.id))));
                "SET #d = :d, gsi2pk = :gp, gsi2sk = :gs"
            }
            None => "SET #d = :d REMOVE gsi2pk, gsi2sk",
        };
        let main = self.table.update(
            keys::IWH,
            &keys::id_sk(w.id),
            expression,
            Some("attribute_exists(pk) AND #d.#r = :prev"),
            &[("#d", "data"), ("#r", "revision")],
            values,
        )?;
        let mut items = vec![main];
        match old_key {
            Some(old) => {
                items.push(
                    self.table
                        .delete_existing(&keys::webhook_key(old), keys::WEBHOOK_KEY_SK)?,
                );
                items.push(self.put_key_item(&data, true)?);
            }
            None => items.push(self.put_key_item(&data, false)?),
        }
        Ok(items)
    }

    fn delete_items(&self, w: &IncomingWebhook) -> Result<Vec<TransactWriteItem>> {
        Ok(vec![
            self.table.delete_existing(keys::IWH, &keys::id_sk(w.id))?,
            self.table
                .delete_existing(&keys::webhook_key(&w.key), keys::WEBHOOK_KEY_SK)?,
        ])
    }

    /// Counts one run on the main item (only while the webhook exists). With
    /// `expect_every_hours`, the same update moves the silence due time
    /// (docs/reference/incoming.md#silence-alerts): no extra round trip, and the keys-only index is
    /// written only when the rounded due time changes.
    pub fn count_run(
        &self,
        webhook_id: i64,
        now: &str,
        expect_every_hours: Option<u16>,
    ) -> Result<TransactWriteItem> {
        let mut values = vec![(":one", n(1)), (":t", s(now))];
        let due = expect_every_hours
            .zip(now.parse::<jiff::Timestamp>().ok())
            .map(|(h, at)| silence::due_key(at, h));
        let expression = match due {
            Some(due) => {
                values.push((":gp", s(keys::SILENCE)));
                values.push((":gs", s(keys::silence_sk(&due, webhook_id))));
                "ADD running_count :one SET last_run_at = :t, gsi2pk = :gp, gsi2sk = :gs"
            }
            None => "ADD running_count :one SET last_run_at = :t",
        };
        self.table.update(
            keys::IWH,
            &keys::id_sk(webhook_id),
            expression,
            Some("attribute_exists(pk)"),
            &[],
            values,
        )
    }

    pub async fn stored_response(&self, key_hash: &str) -> Result<Option<StoredResponse>> {
        let now = jiff::Timestamp::now().as_second();
        Ok(self
            .table
            .get_as::<IdemItem>(&keys::idempotency(key_hash), keys::IDEM_SK)
            .await?
            .map(|i| i.r)
            .filter(|r| r.expires_at > now))
    }

    /// Stores the response of a first call; fails the transaction if another call got there first
    /// (expired records may be replaced).
    pub fn put_stored_response(
        &self,
        key_hash: &str,
        r: &StoredResponse,
    ) -> Result<TransactWriteItem> {
        let item = to_item(&IdemItem {
            pk: keys::idempotency(key_hash),
            sk: keys::IDEM_SK.into(),
            r: r.clone(),
        })?;
        self.table.put_unless_live(item)
    }

    /// Overwrites a stored response after the fact (e.g. the welcome email failed).
    pub async fn amend_stored_response(&self, key_hash: &str, r: &StoredResponse) -> Result<()> {
        let item = to_item(&IdemItem {
            pk: keys::idempotency(key_hash),
            sk: keys::IDEM_SK.into(),
            r: r.clone(),
        })?;
        self.table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(item))
            .send()
            .await
            .or_unavailable("PutItem")?;
        Ok(())
    }
}
