//! Pagination requests and the list shape of docs/reference/api.md#lists-and-pagination

use serde_json::{json, Value};

use crate::error::{Error, Result};

/// How deep `page` may reach (`page × per_page`): each page walks every key before it, so
/// deeper lists are walked with the cursor, one bounded query per call.
pub const MAX_PAGE_DEPTH: usize = 10_000;

/// `?per_page=&page=&cursor=` of every list route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub per_page: usize,
    pub page: usize,
    /// Opaque cursor (base64url of DynamoDB's `LastEvaluatedKey`); wins over `page`.
    pub cursor: Option<String>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            per_page: 25,
            page: 1,
            cursor: None,
        }
    }
}

impl PageRequest {
    /// Validates raw query values: `per_page` 1–100 (default 25), `page` >= 1 (default 1), and
    /// without a cursor `page × per_page` ≤ [`MAX_PAGE_DEPTH`].
    pub fn parse(per_page: Option<&str>, page: Option<&str>, cursor: Option<&str>) -> Result<Self> {
        let per_page = number(per_page, 25, 100)
            .ok_or_else(|| Error::invalid("per_page", "must be an integer from 1 to 100"))?;
        let page = number(page, 1, 1_000_000)
            .ok_or_else(|| Error::invalid("page", "must be a positive integer"))?;
        let cursor = cursor.filter(|c| !c.is_empty()).map(str::to_string);
        if cursor.is_none() && page.saturating_mul(per_page) > MAX_PAGE_DEPTH {
            return Err(Error::invalid(
                "page",
                format!(
                    "page × per_page must be at most {MAX_PAGE_DEPTH}; walk further with the cursor (?cursor= the response's next_cursor)"
                ),
            ));
        }
        Ok(Self {
            per_page,
            page,
            cursor,
        })
    }
}

/// A query number from 1 to `max`; `default` when absent or empty, `None` when out of range or
/// not a number.
fn number(v: Option<&str>, default: usize, max: usize) -> Option<usize> {
    match v {
        None | Some("") => Some(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=max).contains(n)),
    }
}

/// One page of a list, with its total.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
    /// False when `total` is a lower bound (a very long list is not counted to its end).
    pub total_exact: bool,
    pub per_page: usize,
    pub current_page: usize,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            total_exact: self.total_exact,
            per_page: self.per_page,
            current_page: self.current_page,
            next_cursor: self.next_cursor,
        }
    }
}

impl<T> Page<T> {
    pub fn try_map<U, E>(
        self,
        f: impl FnMut(T) -> std::result::Result<U, E>,
    ) -> std::result::Result<Page<U>, E> {
        Ok(Page {
            items: self
                .items
                .into_iter()
                .map(f)
                .collect::<std::result::Result<Vec<U>, E>>()?,
            total: self.total,
            total_exact: self.total_exact,
            per_page: self.per_page,
            current_page: self.current_page,
            next_cursor: self.next_cursor,
        })
    }
}

impl Page<Value> {
    /// `{"<key>":[...],"pagination":{...},"next_cursor":...}`.
    /// A lower-bound total says so: `"total_is_lower_bound": true` (and `last_page` is then
    /// the last page known so far).
    pub fn to_json(&self, key: &str) -> Value {
        let last_page = self.total.div_ceil(self.per_page).max(1);
        let mut v = json!({
            key: self.items,
            "pagination": {
                "total": self.total,
                "per_page": self.per_page,
                "current_page": self.current_page,
                "last_page": last_page,
            },
            "next_cursor": self.next_cursor,
        });
        if !self.total_exact {
            v["pagination"]["total_is_lower_bound"] = Value::Bool(true);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_stop_at_the_depth_bound_unless_a_cursor_walks() {
        assert!(PageRequest::parse(Some("100"), Some("100"), None).is_ok());
        assert!(PageRequest::parse(Some("25"), Some("400"), None).is_ok());
        let e = PageRequest::parse(Some("100"), Some("101"), None).unwrap_err();
        assert!(e.to_string().contains("cursor"), "{e}");
        assert!(PageRequest::parse(None, Some("1000000"), None).is_err());
        assert!(PageRequest::parse(Some("100"), Some("101"), Some("c")).is_ok());
    }

    #[test]
    fn parse_bounds() {
        assert_eq!(
            PageRequest::parse(None, None, None).unwrap(),
            PageRequest::default()
        );
        assert!(PageRequest::parse(Some("0"), None, None).is_err());
        assert!(PageRequest::parse(Some("101"), None, None).is_err());
        assert!(PageRequest::parse(Some("x"), None, None).is_err());
        assert!(PageRequest::parse(None, Some("0"), None).is_err());
        assert_eq!(
            PageRequest::parse(Some("100"), Some("3"), None)
                .unwrap()
                .page,
            3
        );
    }

    #[test]
    fn last_page() {
        let p = Page {
            items: vec![Value::Null],
            total: 50,
            total_exact: true,
            per_page: 25,
            current_page: 1,
            next_cursor: None,
        };
        assert_eq!(p.to_json("runs")["pagination"]["last_page"], 2);
        assert!(p.to_json("runs")["pagination"]
            .get("total_is_lower_bound")
            .is_none());
        let p = Page::<Value> {
            items: vec![],
            total: 0,
            total_exact: true,
            per_page: 25,
            current_page: 1,
            next_cursor: None,
        };
        assert_eq!(p.to_json("runs")["pagination"]["last_page"], 1);
        let p = Page::<Value> {
            items: vec![],
            total: 1025,
            total_exact: false,
            per_page: 25,
            current_page: 1,
            next_cursor: Some("c".into()),
        };
        assert_eq!(
            p.to_json("runs")["pagination"]["total_is_lower_bound"],
            true
        );
    }
}
