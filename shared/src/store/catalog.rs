//! Spaces and courses: `pk = SPACE|COURSE`, `sk = {id:012}`, the entry under `data`.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys::{self, Kind};
use super::{from_item, key, to_item, QuerySpec, Store};
use crate::domain::catalog::CatalogEntry;
use crate::domain::page::{Page, PageRequest};
use crate::error::Result;

#[derive(Serialize, Deserialize)]
struct EntryItem {
    pk: String,
    sk: String,
    data: CatalogEntry,
}

impl Store {
    pub async fn catalog_get(&self, kind: Kind, id: i64) -> Result<Option<CatalogEntry>> {
        Ok(self
            .get_as::<EntryItem>(kind.catalog(), &keys::id_sk(id))
            .await?
            .map(|e| e.data))
    }

    pub async fn catalog_list(&self, kind: Kind, req: &PageRequest) -> Result<Page<CatalogEntry>> {
        let page = self.page(&QuerySpec::table(kind.catalog()), req).await?;
        page.try_map(|i| from_item::<EntryItem>(i).map(|e| e.data))
    }

    /// Which of `ids` exist (one BatchGetItem per 100 ids).
    pub async fn catalog_existing(&self, kind: Kind, ids: &BTreeSet<i64>) -> Result<BTreeSet<i64>> {
        let keys = ids
            .iter()
            .map(|id| key(kind.catalog(), keys::id_sk(*id)))
            .collect();
        let items = self.batch_get(keys, Some("pk, sk")).await?;
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
    pub fn put_catalog(
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
        self.put_creating(item, creating)
    }

    pub fn delete_catalog(&self, kind: Kind, id: i64) -> Result<TransactWriteItem> {
        self.delete_existing(kind.catalog(), &keys::id_sk(id))
    }
}
