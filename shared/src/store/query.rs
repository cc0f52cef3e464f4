//! Keyed queries over the table or its GSI: whole (small) partitions, exact counts, and pages
//! by number or by cursor. No Scan.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::Select;
use base64::Engine;

use super::{s, Item, Table, GSI1, GSI2};
use crate::aws::OrUnavailable;
use crate::domain::page::{Page, PageRequest};
use crate::error::{Error, Result};

/// A keyed query over the table or one of its GSIs, newest-first or oldest-first.
#[derive(Clone, Debug)]
pub struct QuerySpec {
    pub index: Option<&'static str>,
    pub partition: String,
    pub sort: Option<SortCondition>,
    pub forward: bool,
    /// A filter expression without values (applied after the key condition: the items it drops
    /// still count toward a `Limit`).
    pub filter: Option<&'static str>,
}

/// The sort key part of a key condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortCondition {
    /// `begins_with(sk, prefix)`.
    Prefix(String),
    /// `sk < bound`.
    Before(String),
}

impl SortCondition {
    fn expression(&self) -> &'static str {
        match self {
            Self::Prefix(_) => "#p = :p AND begins_with(#s, :s)",
            Self::Before(_) => "#p = :p AND #s < :s",
        }
    }

    fn value(&self) -> &str {
        match self {
            Self::Prefix(v) | Self::Before(v) => v,
        }
    }

    fn admits(&self, sk: &str) -> bool {
        match self {
            Self::Prefix(p) => sk.starts_with(p.as_str()),
            Self::Before(b) => sk < b.as_str(),
        }
    }
}

impl QuerySpec {
    pub fn table(partition: impl Into<String>) -> Self {
        Self {
            index: None,
            partition: partition.into(),
            sort: None,
            forward: true,
            filter: None,
        }
    }

    pub fn gsi1(partition: impl Into<String>) -> Self {
        Self {
            index: Some(GSI1),
            ..Self::table(partition)
        }
    }

    pub fn gsi2(partition: impl Into<String>) -> Self {
        Self {
            index: Some(GSI2),
            ..Self::table(partition)
        }
    }

    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.sort = Some(SortCondition::Prefix(p.into()));
        self
    }

    /// Sort keys strictly before `bound`.
    pub fn before(mut self, bound: impl Into<String>) -> Self {
        self.sort = Some(SortCondition::Before(bound.into()));
        self
    }

    pub fn filter(mut self, expression: &'static str) -> Self {
        self.filter = Some(expression);
        self
    }

    pub fn newest_first(mut self) -> Self {
        self.forward = false;
        self
    }

    fn names(&self) -> (&'static str, &'static str) {
        match self.index {
            Some(GSI2) => ("gsi2pk", "gsi2sk"),
            Some(_) => ("gsi1pk", "gsi1sk"),
            None => ("pk", "sk"),
        }
    }

    fn key_names(&self) -> &'static [&'static str] {
        match self.index {
            Some(GSI2) => &["pk", "sk", "gsi2pk", "gsi2sk"],
            Some(_) => &["pk", "sk", "gsi1pk", "gsi1sk"],
            None => &["pk", "sk"],
        }
    }
}

/// A bounded walk through a partition in sort key order (ULID sort keys): up to `limit` items
/// after `after` and at most `until`; it resumes from the last sort key a page returned.
#[derive(Clone, Debug)]
pub struct Walk {
    pub after: Option<String>,
    pub until: String,
    pub limit: i32,
}

/// Items counted past the requested page before a total becomes a lower bound.
pub const COUNT_AHEAD: usize = 1000;

impl Table {
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
                .or_unavailable("Query")?;
            out.extend(resp.items.unwrap_or_default());
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// The first page of a query, at most `limit` items evaluated (a filter may drop some of
    /// them), eventually consistent: what a bounded sweep reads in one run.
    pub async fn first(&self, spec: &QuerySpec, limit: i32) -> Result<Vec<Item>> {
        let resp = self
            .query_builder(spec)
            .limit(limit)
            .send()
            .await
            .or_unavailable("Query")?;
        Ok(resp.items.unwrap_or_default())
    }

    fn query_builder(
        &self,
        spec: &QuerySpec,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (pk_name, sk_name) = spec.names();
        let q = self
            .client
            .query()
            .table_name(&self.name)
            .set_index_name(spec.index.map(str::to_string))
            .scan_index_forward(spec.forward)
            .set_filter_expression(spec.filter.map(str::to_string))
            .expression_attribute_names("#p", pk_name)
            .expression_attribute_values(":p", s(spec.partition.clone()));
        match &spec.sort {
            Some(cond) => q
                .key_condition_expression(cond.expression())
                .expression_attribute_names("#s", sk_name)
                .expression_attribute_values(":s", s(cond.value())),
            None => q.key_condition_expression("#p = :p"),
        }
    }

    /// How many items a query returns, counting at most `cap` (`Select=COUNT`, keys only):
    /// `(count, exact)`; `exact` is false when the partition holds more than `cap`.
    pub async fn count_up_to(&self, spec: &QuerySpec, cap: usize) -> Result<(usize, bool)> {
        let mut total = 0usize;
        let mut start = None;
        loop {
            let left = cap.saturating_sub(total) + 1;
            let resp = self
                .query_builder(spec)
                .select(Select::Count)
                .limit(i32::try_from(left).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .or_unavailable("Query")?;
            total += usize::try_from(resp.count).unwrap_or(0);
            if total > cap {
                return Ok((cap, false));
            }
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((total, true)),
            }
        }
    }

    /// One page of a query, by page number or by cursor, with its total: exact up to
    /// [`COUNT_AHEAD`] items past the page, a lower bound beyond (so a page costs reads in
    /// proportion to its position, never to the partition's size).
    pub async fn page(&self, spec: &QuerySpec, req: &PageRequest) -> Result<Page<Item>> {
        self.page_counting_ahead(spec, req, COUNT_AHEAD).await
    }

    /// [`Table::page`] counting at most `ahead` items past the page.
    pub async fn page_counting_ahead(
        &self,
        spec: &QuerySpec,
        req: &PageRequest,
        ahead: usize,
    ) -> Result<Page<Item>> {
        let cap = req.page.max(1) * req.per_page + ahead;
        let (total, total_exact) = self.count_up_to(spec, cap).await?;
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
                    .or_unavailable("Query")?;
                skip -= resp.items.as_ref().map_or(0, Vec::len).min(skip);
                match resp.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => {
                        return Ok(Page {
                            items: vec![],
                            total,
                            total_exact,
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
                .or_unavailable("Query")?;
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
            total_exact,
            per_page: req.per_page,
            current_page: req.page,
            next_cursor: next.map(|k| encode_cursor(&k)),
        })
    }
}

impl Table {
    /// One page of a [`Walk`] over `partition`, each item decoded; and whether more follow.
    pub async fn walk<T>(
        &self,
        partition: &str,
        walk: &Walk,
        decode: impl Fn(Item) -> Result<T>,
    ) -> Result<(Vec<T>, bool)> {
        let after = walk.after.as_deref();
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :p AND sk BETWEEN :from AND :until")
            .expression_attribute_values(":p", s(partition))
            // ULIDs start with a digit; `after` itself is read again and dropped.
            .expression_attribute_values(":from", s(after.unwrap_or("0")))
            .expression_attribute_values(":until", s(walk.until.clone()))
            .consistent_read(true)
            .limit(walk.limit.max(2))
            .send()
            .await
            .or_unavailable("Query")?;
        let more = out.last_evaluated_key.is_some_and(|k| !k.is_empty());
        let rows = out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter(|i| {
                after.is_none()
                    || i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) != after
            })
            .map(decode)
            .collect::<Result<Vec<_>>>()?;
        Ok((rows, more))
    }

    /// The first id after `after` in a partition of `{id:012}` sort keys (webhooks,
    /// endpoints), if any.
    pub async fn id_after(&self, partition: &str, after: Option<i64>) -> Result<Option<i64>> {
        let q = self
            .client
            .query()
            .table_name(&self.name)
            .expression_attribute_values(":p", s(partition));
        let q = match after {
            Some(id) => q
                .key_condition_expression("pk = :p AND sk > :after")
                .expression_attribute_values(":after", s(super::keys::id_sk(id))),
            None => q.key_condition_expression("pk = :p"),
        };
        let out = q
            .projection_expression("sk")
            .limit(1)
            .send()
            .await
            .or_unavailable("Query")?;
        Ok(out
            .items
            .unwrap_or_default()
            .first()
            .and_then(|i| i.get("sk")?.as_s().ok()?.parse().ok()))
    }
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
    if let Some(cond) = &spec.sort {
        if !map.get(sk_name).is_some_and(|v| cond.admits(v)) {
            return Err(bad());
        }
    }
    Ok(map.into_iter().map(|(k, v)| (k, s(v))).collect())
}
