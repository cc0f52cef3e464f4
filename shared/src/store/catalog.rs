//! Spaces and courses: `pk = SPACE|COURSE`, `sk = {id:012}`, the entry under `data`.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::keys::{self, Kind};
use super::{from_item, key, to_item, QuerySpec, Store};
use crate::domain::page::{Page, PageRequest};
use crate::error::Result;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CatalogEntry {
    pub id: i64,
    pub title: String,
    pub slug: String,
    #[serde(default)]
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
}

impl CatalogEntry {
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "slug": self.slug,
            "description": self.description,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

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

/// A URL slug from a title: lower-case ASCII letters and digits joined by hyphens.
pub fn slugify(title: &str) -> String {
    let mut out = String::new();
    for c in title
        .chars()
        .map(crate::domain::member::fold_accent)
        .flat_map(char::to_lowercase)
    {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let slug = out
        .trim_end_matches('-')
        .chars()
        .take(80)
        .collect::<String>();
    if slug.is_empty() {
        "untitled".into()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(super::slugify("Premium Members!"), "premium-members");
        assert_eq!(super::slugify("  "), "untitled");
        assert_eq!(super::slugify("Ünïcödé Space ✓"), "unicode-space");
    }
}
