//! Incoming webhooks, their key lookup items and idempotency records (the activity log is [`super::runs`]).
//!
//! The main item (`IWH`/`{id}`) holds the configuration under `data` plus the run counters at
//! top level, so executions (`ADD running_count`) and admin edits (`SET data`) never clobber
//! each other. The key item is a copy of `data`, written in the same transaction as every edit,
//! so an execution resolves its webhook with one read. Its partition key is
//! `IWHKEY#{hex HMAC-SHA256(deployment key, key)}`, never the key: the deployment key is one
//! random secret per table (item `DEPLOYKEY`, sealed by the vault), created once by a
//! conditional put and held for the warm instance's life.
//!
//! Webhooks written before keys were hashed have their key item at `IWHKEY#{key}`: the lookup
//! reads both items in one BatchGetItem, and a hit on the old one moves it to the hashed key (one
//! conditional transaction). Every edit and deletion removes both forms.
//!
//! The key and the provider secrets in `data` (`key`, `signing_secret`, `source_secret`) are
//! sealed by the [`Vault`] on every write and opened on every read
//! (docs/reference/security.md#secrets-at-rest); items written before read as they are and are
//! sealed by their next edit.

use std::sync::Arc;

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::keys;
use super::{from_item, n, s, to_item, Item, QuerySpec, Table};
use crate::aws::OrUnavailable;
use crate::domain::incoming::{silence, IncomingWebhook, SourceSecret};
use crate::domain::page::{Page, PageRequest};
use crate::domain::secret;
use crate::domain::time;
use crate::error::{Error, Result};
use crate::vault::Vault;

#[derive(Serialize, Deserialize)]
struct MainItem {
    pk: String,
    sk: String,
    data: IncomingWebhook,
    #[serde(default)]
    running_count: i64,
    #[serde(default, with = "crate::domain::time::wire::option")]
    last_run_at: Option<jiff::Timestamp>,
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

/// The deployment key of incoming-key digests (sealed in the table).
#[derive(Serialize, Deserialize)]
struct DeploymentKeyItem {
    pk: String,
    sk: String,
    secret: String,
}

/// The deployment key once this instance holds it (shared by the repository's clones).
#[derive(Clone, Default)]
struct DigestKey(Arc<OnceCell<String>>);

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey(<redacted>)")
    }
}

/// The lookup item's partition key of `key` under the deployment key `digest_key`.
fn hashed_pk(digest_key: &str, key: &str) -> String {
    keys::webhook_key(&secret::incoming_key_digest(digest_key, key))
}

/// Removes and returns the item of partition `pk` from `found`.
fn take(found: &mut Vec<Item>, pk: &str) -> Option<Item> {
    let at = found.iter().position(|i| {
        i.get("pk")
            .and_then(|v| v.as_s().ok())
            .is_some_and(|p| p == pk)
    })?;
    Some(found.swap_remove(at))
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
    digest: DigestKey,
}

impl IncomingRepo {
    pub fn new(table: Table, vault: Vault) -> Self {
        Self {
            table,
            vault,
            digest: DigestKey::default(),
        }
    }

    /// The stored deployment key, opened; `None` while none exists (then no hashed key item
    /// exists either: every writer creates the key before its first hashed item).
    async fn stored_digest_key(&self) -> Result<Option<String>> {
        match self
            .table
            .get_as::<DeploymentKeyItem>(keys::DEPLOYMENT_KEY, keys::WEBHOOK_KEY_SK)
            .await?
        {
            Some(i) => self.vault.open(&i.secret).await.map(Some),
            None => Ok(None),
        }
    }

    /// Loads the deployment key if one is stored (the `incoming` function's cold start, so no
    /// call pays for it); never creates it.
    pub async fn warm(&self) -> Result<()> {
        if self.digest.0.get().is_none() {
            if let Some(k) = self.stored_digest_key().await? {
                let _ = self.digest.0.set(k);
            }
        }
        Ok(())
    }

    /// The deployment key, created once (a conditional put; the loser of a race reads the
    /// winner's) when none is stored yet.
    async fn digest_key(&self) -> Result<&str> {
        self.digest
            .0
            .get_or_try_init(|| async {
                for _ in 0..3 {
                    if let Some(k) = self.stored_digest_key().await? {
                        return Ok(k);
                    }
                    let fresh = secret::random_token();
                    let item = to_item(&DeploymentKeyItem {
                        pk: keys::DEPLOYMENT_KEY.into(),
                        sk: keys::WEBHOOK_KEY_SK.into(),
                        secret: self.vault.seal(&fresh).await?,
                    })?;
                    if self.table.put_absent(item).await? {
                        return Ok(fresh);
                    }
                }
                Err(Error::dep(
                    "the deployment key of incoming keys can be neither read nor created",
                ))
            })
            .await
            .map(String::as_str)
    }

    /// The lookup item's partition key of `key`.
    async fn key_pk(&self, key: &str) -> Result<String> {
        Ok(hashed_pk(self.digest_key().await?, key))
    }

    /// The webhook as stored: its key and provider secrets sealed.
    async fn sealed(&self, w: &IncomingWebhook) -> Result<IncomingWebhook> {
        let mut w = w.clone();
        w.key = self.vault.seal(&w.key).await?;
        w.signing_secret = self.vault.seal_opt(w.signing_secret.as_deref()).await?;
        if let Some(s) = &w.source_secret {
            w.source_secret = Some(SourceSecret::new(self.vault.seal(s.expose()).await?));
        }
        Ok(w)
    }

    /// The webhook as read: its provider secrets opened.
    async fn opened(&self, mut w: IncomingWebhook) -> Result<IncomingWebhook> {
        w.key = self.vault.open(&w.key).await?;
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

    /// The hot-path lookup: one BatchGetItem of the hashed key item and the legacy one (an
    /// unknown key costs that one read and writes nothing). Before this instance holds the
    /// deployment key, the same read fetches it in the hashed item's place (and, when it exists,
    /// the hashed item follows, once per instance). A legacy hit is migrated to the hashed key.
    pub async fn by_key(&self, key: &str) -> Result<Option<IncomingWebhook>> {
        let sk = keys::WEBHOOK_KEY_SK;
        let legacy = keys::legacy_webhook_key(key);
        let mut hashed = self.digest.0.get().map(|d| hashed_pk(d, key));
        let first = hashed
            .clone()
            .unwrap_or_else(|| keys::DEPLOYMENT_KEY.to_string());
        let mut found = self
            .table
            .batch_get(vec![super::key(&first, sk), super::key(&legacy, sk)], None)
            .await?;
        if hashed.is_none() {
            if let Some(item) = take(&mut found, keys::DEPLOYMENT_KEY) {
                let item: DeploymentKeyItem = from_item(item)?;
                let opened = self.vault.open(&item.secret).await?;
                let d = self.digest.0.get_or_init(|| async { opened }).await;
                let h = hashed_pk(d, key);
                if found.is_empty() {
                    found.extend(self.table.get(&h, sk).await?);
                }
                hashed = Some(h);
            }
        }
        if let Some(item) = hashed.as_deref().and_then(|h| take(&mut found, h)) {
            let k: KeyItem = from_item(item)?;
            return self.opened(k.data).await.map(Some);
        }
        let Some(item) = take(&mut found, &legacy) else {
            return Ok(None);
        };
        let k: KeyItem = from_item(item)?;
        if let Some(h) = &hashed {
            self.migrate(h, &k).await;
        }
        self.opened(k.data).await.map(Some)
    }

    /// Moves a legacy key item to its hashed key, as stored (one transaction: the hashed item
    /// only if absent, the legacy one only if still there — an edit meanwhile removed it and
    /// wrote the hashed one itself). A failure leaves the legacy item for the next call.
    async fn migrate(&self, hashed: &str, legacy: &KeyItem) {
        let moved = async {
            let item = to_item(&KeyItem {
                pk: hashed.to_string(),
                sk: keys::WEBHOOK_KEY_SK.into(),
                data: legacy.data.clone(),
            })?;
            self.commit(vec![
                self.table.put_new(item)?,
                self.table
                    .delete_existing(&legacy.pk, keys::WEBHOOK_KEY_SK)?,
            ])
            .await
        };
        match moved.await {
            Ok(true) => tracing::info!(
                incoming_webhook_id = legacy.data.id,
                "legacy key item moved to its hashed key"
            ),
            Ok(false) => {}
            Err(error) => tracing::warn!(
                %error,
                incoming_webhook_id = legacy.data.id,
                "legacy key item not moved; the next call tries again"
            ),
        }
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
        let pk = self.key_pk(&w.key).await?;
        let w = self.sealed(w).await?;
        self.commit(self.create_items(&w, pk)?).await
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
        let pk = self.key_pk(&w.key).await?;
        let old = match old_key {
            Some(old) => Some((self.key_pk(old).await?, keys::legacy_webhook_key(old))),
            None => None,
        };
        let legacy = keys::legacy_webhook_key(&w.key);
        let w = self.sealed(w).await?;
        self.commit(self.update_items(&w, prev_revision, pk, &legacy, old)?)
            .await
    }

    /// Deletes a webhook and its key item (hashed and any legacy one); `false` when it was
    /// already gone.
    pub async fn delete(&self, w: &IncomingWebhook) -> Result<bool> {
        let pk = self.key_pk(&w.key).await?;
        self.commit(self.delete_items(w, &pk)?).await
    }

    async fn commit(&self, items: Vec<TransactWriteItem>) -> Result<bool> {
        let items = items.into_iter().map(|i| ((), i)).collect();
        Ok(self.table.transact(items).await?.is_ok())
    }

    fn create_items(&self, w: &IncomingWebhook, pk: String) -> Result<Vec<TransactWriteItem>> {
        let main = to_item(&MainItem {
            pk: keys::IWH.into(),
            sk: keys::id_sk(w.id),
            data: w.clone(),
            running_count: 0,
            last_run_at: None,
            gsi2pk: w.silence_due().map(|_| keys::SILENCE.to_string()),
            gsi2sk: w.silence_due().map(|due| keys::silence_sk(&due, w.id)),
        })?;
        Ok(vec![
            self.table.put_new(main)?,
            self.put_key_item(w, pk, true)?,
        ])
    }

    /// The key item: new (its key must be free) or replacing whatever holds it (an edit, whose
    /// main item's revision condition guards the transaction; a legacy webhook has no hashed
    /// item yet).
    fn put_key_item(
        &self,
        w: &IncomingWebhook,
        pk: String,
        creating: bool,
    ) -> Result<TransactWriteItem> {
        let item = to_item(&KeyItem {
            pk,
            sk: keys::WEBHOOK_KEY_SK.into(),
            data: w.clone(),
        })?;
        if creating {
            self.table.put_new(item)
        } else {
            self.table.put(item, None)
        }
    }

    /// `pk`: the hashed key item of `w`'s key, `legacy`: its legacy form; `old`: both forms of
    /// the key a rotation replaces.
    fn update_items(
        &self,
        w: &IncomingWebhook,
        prev_revision: i64,
        pk: String,
        legacy: &str,
        old: Option<(String, String)>,
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
        match old {
            Some((old_pk, old_legacy)) => {
                items.push(self.table.delete(&old_pk, keys::WEBHOOK_KEY_SK)?);
                items.push(self.table.delete(&old_legacy, keys::WEBHOOK_KEY_SK)?);
                items.push(self.put_key_item(&data, pk, true)?);
            }
            None => {
                items.push(self.table.delete(legacy, keys::WEBHOOK_KEY_SK)?);
                items.push(self.put_key_item(&data, pk, false)?);
            }
        }
        Ok(items)
    }

    /// `w` as read (its key opened), `pk` its hashed key item.
    fn delete_items(&self, w: &IncomingWebhook, pk: &str) -> Result<Vec<TransactWriteItem>> {
        Ok(vec![
            self.table.delete_existing(keys::IWH, &keys::id_sk(w.id))?,
            self.table.delete(pk, keys::WEBHOOK_KEY_SK)?,
            self.table
                .delete(&keys::legacy_webhook_key(&w.key), keys::WEBHOOK_KEY_SK)?,
        ])
    }

    /// Counts one run on the main item (only while the webhook exists). With
    /// `expect_every_hours`, the same update moves the silence due time
    /// (docs/reference/incoming.md#silence-alerts): no extra round trip, and the keys-only index is
    /// written only when the rounded due time changes.
    pub fn count_run(
        &self,
        webhook_id: i64,
        now: jiff::Timestamp,
        expect_every_hours: Option<u16>,
    ) -> Result<TransactWriteItem> {
        let mut values = vec![(":one", n(1)), (":t", s(time::rfc3339(now)))];
        let due = expect_every_hours.map(|h| silence::due_key(now, h));
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
