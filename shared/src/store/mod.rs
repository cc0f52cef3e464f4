//! DynamoDB persistence: one table, keys in [`keys`], one module per kind of item.
//!
//! See the README's "Data model" for the key design and the access pattern each key serves.

pub mod app_passwords;
pub mod catalog;
pub mod deliveries;
pub mod endpoints;
pub mod execution;
pub mod incoming;
pub mod jobs;
pub mod keys;
pub mod members;
pub mod outbox;
pub mod signin;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, Select, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::domain::page::{Page, PageRequest};
use crate::error::{Error, Result};

pub type Item = HashMap<String, AttributeValue>;

pub const GSI1: &str = "gsi1";

/// The DynamoDB store: a client built once per cold start, and the table name.
#[derive(Clone, Debug)]
pub struct Store {
    pub client: Client,
    pub table: String,
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

/// A keyed query over the table or its GSI, newest-first or oldest-first.
#[derive(Clone, Debug)]
pub struct QuerySpec {
    pub index: Option<&'static str>,
    pub partition: String,
    pub sort_prefix: Option<String>,
    pub forward: bool,
}

impl QuerySpec {
    pub fn table(partition: impl Into<String>) -> Self {
        Self {
            index: None,
            partition: partition.into(),
            sort_prefix: None,
            forward: true,
        }
    }

    pub fn gsi1(partition: impl Into<String>) -> Self {
        Self {
            index: Some(GSI1),
            ..Self::table(partition)
        }
    }

    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.sort_prefix = Some(p.into());
        self
    }

    pub fn newest_first(mut self) -> Self {
        self.forward = false;
        self
    }

    fn names(&self) -> (&'static str, &'static str) {
        match self.index {
            Some(_) => ("gsi1pk", "gsi1sk"),
            None => ("pk", "sk"),
        }
    }

    fn key_names(&self) -> &'static [&'static str] {
        match self.index {
            Some(_) => &["pk", "sk", "gsi1pk", "gsi1sk"],
            None => &["pk", "sk"],
        }
    }
}

/// Outcome of a transaction whose conditions may fail: `Err(tags)` names the items whose
/// condition failed (empty when DynamoDB reported a conflicting concurrent transaction).
pub type TxResult<T> = std::result::Result<(), Vec<T>>;

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(out.item)
    }

    pub async fn get_as<T: DeserializeOwned>(&self, pk: &str, sk: &str) -> Result<Option<T>> {
        self.get(pk, sk).await?.map(from_item).transpose()
    }

    /// Every item of a query (for small, bounded partitions such as one member's memberships).
    pub async fn query_all(&self, spec: &QuerySpec) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let resp = self
                .query_builder(spec)
                .consistent_read(spec.index.is_none())
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            out.extend(resp.items.unwrap_or_default());
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    fn query_builder(
        &self,
        spec: &QuerySpec,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (pk_name, sk_name) = spec.names();
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(spec.index.map(str::to_string))
            .scan_index_forward(spec.forward)
            .expression_attribute_names("#p", pk_name)
            .expression_attribute_values(":p", s(spec.partition.clone()));
        q = match &spec.sort_prefix {
            Some(prefix) => q
                .key_condition_expression("#p = :p AND begins_with(#s, :s)")
                .expression_attribute_names("#s", sk_name)
                .expression_attribute_values(":s", s(prefix.clone())),
            None => q.key_condition_expression("#p = :p"),
        };
        q
    }

    /// Exact number of items a query returns (walks the partition with `Select=COUNT`).
    pub async fn count(&self, spec: &QuerySpec) -> Result<usize> {
        let mut total = 0usize;
        let mut start = None;
        loop {
            let resp = self
                .query_builder(spec)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            total += usize::try_from(resp.count).unwrap_or(0);
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(total),
            }
        }
    }

    /// One page of a query, with the exact total, by page number or by cursor.
    pub async fn page(&self, spec: &QuerySpec, req: &PageRequest) -> Result<Page<Item>> {
        let total = self.count(spec).await?;
        let mut start = match &req.cursor {
            Some(c) => Some(decode_cursor(c, spec)?),
            None => None,
        };
        if req.cursor.is_none() && req.page > 1 {
            // Walk past the earlier pages reading keys only.
            let mut skip = (req.page - 1) * req.per_page;
            while skip > 0 {
                let limit = i32::try_from(skip.min(1000)).unwrap_or(1000);
                let resp = self
                    .query_builder(spec)
                    .projection_expression(spec.key_names().join(", "))
                    .limit(limit)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
                skip -= resp.items.as_ref().map_or(0, Vec::len).min(skip);
                match resp.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => {
                        return Ok(Page {
                            items: vec![],
                            total,
                            per_page: req.per_page,
                            current_page: req.page,
                            next_cursor: None,
                        })
                    }
                }
            }
        }
        // Read one item past the page: a cursor is returned only if more items exist (DynamoDB
        // itself returns a LastEvaluatedKey whenever Limit is reached, even at the very end).
        let mut items = Vec::new();
        while items.len() <= req.per_page {
            let resp = self
                .query_builder(spec)
                .consistent_read(spec.index.is_none())
                .limit(i32::try_from(req.per_page + 1 - items.len()).unwrap_or(101))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            items.extend(resp.items.unwrap_or_default());
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let next = if items.len() > req.per_page {
            items.truncate(req.per_page);
            items.last().map(|last| {
                spec.key_names()
                    .iter()
                    .filter_map(|k| last.get(*k).map(|v| (k.to_string(), v.clone())))
                    .collect::<Item>()
            })
        } else {
            None
        };
        Ok(Page {
            items,
            total,
            per_page: req.per_page,
            current_page: req.page,
            next_cursor: next.map(|k| encode_cursor(&k)),
        })
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
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
                found.extend(
                    out.responses
                        .and_then(|mut r| r.remove(&self.table))
                        .unwrap_or_default(),
                );
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
            }
        }
        Ok(found)
    }

    /// Atomically increments a named counter and returns the new value (ids start at 1).
    pub async fn next_id(&self, counter: &str) -> Result<i64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::COUNTER, counter)))
            .update_expression("ADD #v :one")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        out.attributes
            .and_then(|a| a.get("value").cloned())
            .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
            .ok_or_else(|| Error::dep("counter update returned no value"))
    }

    /// Runs a transaction; conditional failures come back as the tags of the failed items.
    pub async fn transact<T: Clone>(
        &self,
        items: Vec<(T, TransactWriteItem)>,
    ) -> Result<TxResult<T>> {
        let (tags, writes): (Vec<T>, Vec<TransactWriteItem>) = items.into_iter().unzip();
        if writes.is_empty() {
            return Ok(Ok(()));
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(err) => {
                use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
                match err.as_service_error() {
                    Some(E::TransactionCanceledException(ex)) => {
                        let failed: Vec<T> = ex
                            .cancellation_reasons()
                            .iter()
                            .zip(tags.iter())
                            .filter(|(r, _)| r.code() == Some("ConditionalCheckFailed"))
                            .map(|(_, t)| t.clone())
                            .collect();
                        let only_conflicts = ex.cancellation_reasons().iter().all(|r| {
                            matches!(
                                r.code(),
                                None | Some("None")
                                    | Some("ConditionalCheckFailed")
                                    | Some("TransactionConflict")
                            )
                        });
                        if only_conflicts {
                            Ok(Err(failed))
                        } else {
                            Err(Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(
                                err,
                            )))
                        }
                    }
                    Some(E::TransactionInProgressException(_)) => Ok(Err(vec![])),
                    _ => Err(Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(
                        err,
                    ))),
                }
            }
        }
    }

    // --- transaction item builders -------------------------------------------------------

    pub fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A single conditional PutItem; `Ok(false)` when the condition failed.
    pub async fn put_if(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values_map(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
        }
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
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(names_map(names))
            .set_expression_attribute_values(values_map(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::dep(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
        }
    }

    pub fn put_new(&self, item: Item) -> Result<TransactWriteItem> {
        self.put(item, Some("attribute_not_exists(pk)"))
    }

    pub fn delete_existing(&self, pk: &str, sk: &str) -> Result<TransactWriteItem> {
        let del = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    pub fn check_exists(&self, pk: &str, sk: &str) -> Result<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    pub fn update(
        &self,
        pk: &str,
        sk: &str,
        expression: &str,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_names(names_map(names))
            .set_expression_attribute_values(values_map(values))
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().update(update).build())
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

fn encode_cursor(k: &Item) -> String {
    let map: serde_json::Map<String, serde_json::Value> = k
        .iter()
        .filter_map(|(name, v)| {
            v.as_s()
                .ok()
                .map(|s| (name.clone(), serde_json::Value::String(s.clone())))
        })
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::Value::Object(map).to_string())
}

fn decode_cursor(cursor: &str, spec: &QuerySpec) -> Result<Item> {
    let bad = || Error::invalid("cursor", "is not a cursor of this list");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| bad())?;
    let map: HashMap<String, String> = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let expected = spec.key_names();
    if map.len() != expected.len() || !expected.iter().all(|k| map.contains_key(*k)) {
        return Err(bad());
    }
    let (pk_name, sk_name) = spec.names();
    if map.get(pk_name) != Some(&spec.partition) {
        return Err(bad());
    }
    if let Some(prefix) = &spec.sort_prefix {
        if !map
            .get(sk_name)
            .is_some_and(|v| v.starts_with(prefix.as_str()))
        {
            return Err(bad());
        }
    }
    Ok(map.into_iter().map(|(k, v)| (k, s(v))).collect())
}
