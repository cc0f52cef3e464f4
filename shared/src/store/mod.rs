//! DynamoDB persistence: one table, keys in [`keys`], one repository per kind of item.
//!
//! See docs/architecture.md#data-model for the key design and the access pattern each key serves.
//! [`Table`] holds the generic calls — single items here, keyed queries and pages in [`query`],
//! transactions in [`tx`] — and each kind's module a repository (`MemberRepo`, `OutgoingRepo`,
//! …) with that kind's items, keys and calls. Services hold only the repositories they need.
//! Every SDK failure becomes an [`Error`] through [`crate::aws`].

pub mod app_passwords;
pub mod catalog;
pub mod deliveries;
pub mod execution;
pub mod incoming;
pub mod jobs;
mod json_text;
pub mod keys;
pub mod members;
pub mod outbox;
pub mod outgoing;
pub mod provider;
pub mod publishes;
mod query;
pub mod rate;
pub mod runs;
pub mod signin;
pub mod silence;
mod tx;
pub mod welcome;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::aws::{OrUnavailable, UnlessConditionFailed};
/// Given once to the repositories whose items expire with the log (deliveries, runs, recover
/// and erasure jobs, operator notices).
pub use crate::domain::time::Retention;
use crate::error::{Error, Result};
pub use app_passwords::AppPasswordRepo;
pub use catalog::CatalogRepo;
pub use deliveries::DeliveryRepo;
pub use execution::ExecutionRepo;
pub use incoming::IncomingRepo;
pub use jobs::{ErasureRepo, LineRepo, NoticeRepo, RecoverRepo};
pub use members::MemberRepo;
pub use outbox::OutboxRepo;
pub use outgoing::OutgoingRepo;
pub use provider::ProviderRepo;
pub use publishes::{PublishRecord, PublishRepo};
pub use query::{QuerySpec, Walk};
pub use rate::RateRepo;
pub use runs::RunRepo;
pub use signin::SigninRepo;
pub use silence::SilenceRepo;
pub use tx::TxResult;
pub use welcome::WelcomeRepo;

pub type Item = HashMap<String, AttributeValue>;

pub const GSI1: &str = "gsi1";
/// The expiry index (timed access), sparse: `gsi2pk = EXPIRING#{shard}`, `gsi2sk = {end}#...`.
pub const GSI2: &str = "gsi2";

/// The one DynamoDB table: a client built once per cold start, and the table's name. Its calls
/// are generic (an item, a key, a query); the repositories below give each kind of item its own.
#[derive(Clone, Debug)]
pub struct Table {
    client: Client,
    name: String,
}

/// A repository: the table handle and, in its own module, the calls for one kind of item.
macro_rules! repository {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            table: $crate::store::Table,
        }

        impl $name {
            pub fn new(table: $crate::store::Table) -> Self {
                Self { table }
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, expiring with the log) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            table: $crate::store::Table,
            retention: $crate::store::Retention,
        }

        impl $name {
            pub fn new(table: $crate::store::Table, retention: $crate::store::Retention) -> Self {
                Self { table, retention }
            }
        }
    };
}
use repository;

/// Every repository over one table, built once per cold start; the app hands each service the
/// ones it needs.
#[derive(Clone, Debug)]
pub struct Repositories {
    pub table: Table,
    pub members: MemberRepo,
    pub catalog: CatalogRepo,
    pub incoming: IncomingRepo,
    pub runs: RunRepo,
    pub providers: ProviderRepo,
    pub outgoing: OutgoingRepo,
    pub deliveries: DeliveryRepo,
    pub recover_jobs: RecoverRepo,
    pub lines: LineRepo,
    pub notices: NoticeRepo,
    pub erasures: ErasureRepo,
    pub outbox: OutboxRepo,
    pub publishes: PublishRepo,
    pub app_passwords: AppPasswordRepo,
    pub signin: SigninRepo,
    pub silence: SilenceRepo,
    /// Throttle windows of rate-limited endpoints.
    pub rates: RateRepo,
    /// A plan's writes, from the member, catalog, incoming and run repositories.
    pub execution: ExecutionRepo,
    /// Welcome-email markers.
    pub welcome: WelcomeRepo,
}

impl Repositories {
    /// The repositories; `vault` seals the secrets of the items that hold some, `retention`
    /// dates the log's items.
    pub fn new(
        client: Client,
        table_name: impl Into<String>,
        vault: crate::vault::Vault,
        retention: Retention,
    ) -> Self {
        let table = Table::new(client, table_name);
        Self {
            members: MemberRepo::new(table.clone()),
            catalog: CatalogRepo::new(table.clone()),
            incoming: IncomingRepo::new(table.clone(), vault.clone()),
            runs: RunRepo::new(table.clone(), retention),
            providers: ProviderRepo::new(table.clone()),
            outgoing: OutgoingRepo::new(table.clone(), vault.clone()),
            deliveries: DeliveryRepo::new(table.clone(), retention),
            recover_jobs: RecoverRepo::new(table.clone(), retention),
            lines: LineRepo::new(table.clone()),
            notices: NoticeRepo::new(table.clone(), retention),
            erasures: ErasureRepo::new(table.clone(), retention),
            outbox: OutboxRepo::new(table.clone()),
            publishes: PublishRepo::new(table.clone()),
            app_passwords: AppPasswordRepo::new(table.clone()),
            signin: SigninRepo::new(table.clone()),
            silence: SilenceRepo::new(table.clone()),
            rates: RateRepo::new(table.clone()),
            execution: ExecutionRepo::new(table.clone(), vault.clone(), retention),
            welcome: WelcomeRepo::new(table.clone()),
            table,
        }
    }
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn to_item<T: Serialize>(v: &T) -> Result<Item> {
    serde_dynamo::aws_sdk_dynamodb_1::to_item(v).map_err(Error::dep)
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item).map_err(Error::dep)
}

/// Key of an item: partition and sort key values.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// The SDK client and the table's name (tests that scan the table).
    pub fn client(&self) -> (&Client, &str) {
        (&self.client, &self.name)
    }

    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .or_unavailable("GetItem")?;
        Ok(out.item)
    }

    pub async fn get_as<T: DeserializeOwned>(&self, pk: &str, sk: &str) -> Result<Option<T>> {
        self.get(pk, sk).await?.map(from_item).transpose()
    }

    /// Every item among `keys` that exists (BatchGetItem per 100 keys, strongly consistent,
    /// unprocessed keys retried), optionally projected.
    pub async fn batch_get(&self, keys: Vec<Item>, projection: Option<&str>) -> Result<Vec<Item>> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .set_projection_expression(projection.map(str::to_string))
                .consistent_read(true);
            let mut pending = Some(request.build().map_err(Error::dep)?);
            while let Some(req) = pending.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.name, req)
                    .send()
                    .await
                    .or_unavailable("BatchGetItem")?;
                found.extend(
                    out.responses
                        .and_then(|mut r| r.remove(&self.name))
                        .unwrap_or_default(),
                );
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.name))
                    .filter(|k| !k.keys().is_empty());
            }
        }
        Ok(found)
    }

    /// Deletes the items with these keys, 25 per `BatchWriteItem`; what DynamoDB leaves
    /// unprocessed (throttling) is sent again after a short pause. Returns how many were deleted.
    pub async fn delete_all(&self, keys: Vec<Item>) -> Result<usize> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let mut deleted = 0;
        for chunk in keys.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|k| {
                    let delete = DeleteRequest::builder().set_key(Some(k.clone())).build();
                    delete.map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(Error::dep)?;
            while !requests.is_empty() {
                let sent = requests.len();
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.name, requests)
                    .send()
                    .await
                    .or_unavailable("BatchWriteItem")?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.name))
                    .unwrap_or_default();
                deleted += sent - requests.len();
                if !requests.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
        Ok(deleted)
    }

    /// Atomically increments a named counter and returns the new value (ids start at 1).
    pub async fn next_id(&self, counter: &str) -> Result<i64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(keys::COUNTER, counter)))
            .update_expression("ADD #v :one")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .or_unavailable("UpdateItem")?;
        out.attributes
            .and_then(|a| a.get("value").cloned())
            .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
            .ok_or_else(|| Error::dep("counter update returned no value"))
    }

    /// A single conditional PutItem; `Ok(false)` when the condition failed.
    pub async fn put_if(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values_map(values))
            .send()
            .await;
        Ok(put.unless_condition_failed("PutItem")?.is_some())
    }

    /// Writes `item` only if no item has its key (a first write); `false` when one does.
    pub async fn put_absent(&self, item: Item) -> Result<bool> {
        self.put_if(item, "attribute_not_exists(pk)", vec![]).await
    }

    /// Writes `item` over the stored one only if its `counter` still holds `prev` — nobody
    /// advanced it since it was read (counters only grow); `false` otherwise.
    pub async fn put_unchanged(&self, item: Item, counter: &str, prev: u64) -> Result<bool> {
        self.put_if(
            item,
            &format!("{counter} = :prev"),
            vec![(":prev", n(prev))],
        )
        .await
    }

    /// A single UpdateItem; `Ok(None)` when the condition failed, else the updated attributes.
    pub async fn update_if(
        &self,
        pk: &str,
        sk: &str,
        expression: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<Item>> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(names_map(names))
            .set_expression_attribute_values(values_map(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        Ok(updated
            .unless_condition_failed("UpdateItem")?
            .map(|out| out.attributes.unwrap_or_default()))
    }

    /// A single DeleteItem of an existing item; `Ok(false)` when there was none.
    pub async fn delete_if_exists(&self, pk: &str, sk: &str) -> Result<bool> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        Ok(deleted.unless_condition_failed("DeleteItem")?.is_some())
    }
}

/// Expression attribute names, or none.
fn names_map(names: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    (!names.is_empty()).then(|| {
        names
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    })
}

/// Expression attribute values, or none.
fn values_map(values: Vec<(&str, AttributeValue)>) -> Option<Item> {
    (!values.is_empty()).then(|| {
        values
            .into_iter()
            .map(|(a, b)| (a.to_string(), b))
            .collect()
    })
}
