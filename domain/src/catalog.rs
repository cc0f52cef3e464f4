//! Spaces and courses (docs/reference/api.md#routes): the entry and its API view, and how titles
//! become slugs.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CatalogEntry {
    pub id: i64,
    pub title: String,
    pub slug: String,
    #[serde(default)]
    pub description: String,
    #[serde(with = "crate::time::wire")]
    pub created_at: jiff::Timestamp,
    #[serde(with = "crate::time::wire")]
    pub updated_at: jiff::Timestamp,
}

impl CatalogEntry {
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "slug": self.slug,
            "description": self.description,
            "created_at": crate::time::rfc3339(self.created_at),
            "updated_at": crate::time::rfc3339(self.updated_at),
        })
    }
}

/// A URL slug from a title: lower-case ASCII letters and digits joined by hyphens.
pub fn slugify(title: &str) -> String {
    let mut out = String::new();
    for c in title
        .chars()
        .map(crate::member::fold_accent)
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
