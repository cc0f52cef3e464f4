//! Spaces and courses: `pk = SPACE|COURSE`, `sk = {id:012}`, the entry under `data`.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys::{self, Kind, KindKeys};
use super::{from_item, key, repository, to_item, QuerySpec};
use crate::domain::catalog::CatalogEntry;
use crate::domain::page::{Page, PageRequest};
use crate::error::Result;

#[derive(Serialize, Deserialize)]
struct EntryItem {
    pk: String,
    sk: String,
    data: CatalogEntry,
}

repository!(
    /// Spaces and courses.
    CatalogRepo
);

impl CatalogRepo {
    /// The next id of a space or course.
    pub async fn next_id(&self, kind: Kind) -> Result<i64> {
        self.table.next_id(kind.counter()).await
    }

    /// A transaction's check that the entry still exists.
    pub fn check_exists(&self, kind: Kind, id: i64) -> Result<TransactWriteItem> {
        self.table.check_exists(kind.catalog(), &keys::id_sk(id))
    }

    pub async fn get(&self, kind: Kind, id: i64) -> Result<Option<CatalogEntry>> {
        Ok(self
            .table
            .get_as::<EntryItem>(kind.catalog(), &keys::id_sk(id))
            .await?
            .map(|e| e.data))
    }

    pub async fn list(&self, kind: Kind, req: &PageRequest) -> Result<Page<CatalogEntry>> {
        let page = self
            .table
            .page(&QuerySpec::table(kind.catalog()), req)
            .await?;
        page.try_map(|i| from_item::<EntryItem>(i).map(|e| e.data))
    }

    /// Which of `ids` exist (one BatchGetItem per 100 ids).
    pub async fn existing(&self, kind: Kind, ids: &BTreeSet<i64>) -> Result<BTreeSet<i64>> {
        let keys = ids
            .iter()
            .map(|id| key(kind.catalog(), keys::id_sk(*id)))
            .collect();
        let items = self.table.batch_get(keys, Some("pk, sk")).await?;
        let found = items
            .iter()
            .filter_map(|item| {
                item.get("sk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|s| s.parse().ok())
            })
            .collect();
        Ok(found)
    }

    /// Writes an entry; `creating` requires it to be new, otherwise it must exist.
    pub fn put(
        &self,
        kind: Kind,
        entry: &CatalogEntry,
        creating: bool,
    ) -> Result<TransactWriteItem> {
        let item = to_item(&EntryItem {
            pk: kind.catalog().into(),
            sk: keys::id_sk(entry.id),
            data: entry.clone(),
        })?;
        self.table.put_creating(item, creating)
    }

    pub fn delete(&self, kind: Kind, id: i64) -> Result<TransactWriteItem> {
        self.table.delete_existing(kind.catalog(), &keys::id_sk(id))
    }
}
