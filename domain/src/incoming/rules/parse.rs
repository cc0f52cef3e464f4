//! Validation of a webhook's `rules` and `products` (admin input).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{Access, Action, Product, Rule, MAX_ACCESS_DAYS, MAX_PRODUCTS, MAX_RULES};
use crate::error::{Error, Result};
use crate::incoming::{id_list, MAX_IDS_PER_LIST};

fn bounded_string(v: Option<&Value>, field: &str, max: usize) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.trim().chars().count() <= max => {
            Ok(Some(s.trim().to_string()))
        }
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        Some(_) => Err(Error::invalid(
            field,
            format!("must be a non-empty string of at most {max} characters"),
        )),
    }
}

fn array<'a>(v: &'a Value, field: &str, max: usize) -> Result<Option<&'a Vec<Value>>> {
    match v {
        Value::Null => Ok(None),
        Value::Array(a) if a.len() <= max => Ok(Some(a)),
        Value::Array(_) => Err(Error::invalid(field, format!("at most {max} entries"))),
        _ => Err(Error::invalid(field, "must be an array")),
    }
}

/// Validates `rules`: `[{"event": "...", "status": "..."?, "action": "grant|revoke|ignore",
/// "access": {"days": N} | "period_end"?}]` (`access` only on grants).
pub fn rules_from_json(v: &Value) -> Result<Option<Vec<Rule>>> {
    let Some(items) = array(v, "rules", MAX_RULES)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = |f: &str| format!("rules[{i}].{f}");
        let obj = item
            .as_object()
            .ok_or_else(|| Error::invalid("rules", format!("entry {i} must be an object")))?;
        if let Some(k) = obj
            .keys()
            .find(|k| !["event", "status", "action", "access"].contains(&k.as_str()))
        {
            return Err(Error::invalid(&field(k), "is not a rule field"));
        }
        let event = bounded_string(obj.get("event"), &field("event"), 100)?
            .ok_or_else(|| Error::invalid(&field("event"), "is required"))?;
        let status = bounded_string(obj.get("status"), &field("status"), 50)?;
        let action = obj
            .get("action")
            .and_then(|a| serde_json::from_value::<Action>(a.clone()).ok())
            .ok_or_else(|| Error::invalid(&field("action"), "must be grant, revoke or ignore"))?;
        let access = match obj.get("access") {
            None | Some(Value::Null) => None,
            Some(a) => match serde_json::from_value::<Access>(a.clone()) {
                Ok(Access::Days { days }) if !(1..=MAX_ACCESS_DAYS).contains(&days) => {
                    return Err(Error::invalid(
                        &field("access"),
                        format!("days must be 1 to {MAX_ACCESS_DAYS}"),
                    ))
                }
                Ok(_) if action != Action::Grant => {
                    return Err(Error::invalid(
                        &field("access"),
                        "only grant rules have access",
                    ))
                }
                Ok(a) => Some(a),
                Err(_) => {
                    return Err(Error::invalid(
                        &field("access"),
                        "must be {\"days\": N} or \"period_end\"",
                    ))
                }
            },
        };
        out.push(Rule {
            event,
            status,
            action,
            access,
        });
    }
    Ok(Some(out))
}

/// Validates `products`; the union of their spaces (and of their courses) stays within one
/// list's bound, so a purchase matching every entry still fits one transaction.
pub fn products_from_json(v: &Value) -> Result<Option<Vec<Product>>> {
    let Some(items) = array(v, "products", MAX_PRODUCTS)? else {
        return Ok(Some(vec![]));
    };
    let mut out: Vec<Product> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = |f: &str| format!("products[{i}].{f}");
        let obj: &Map<String, Value> = item
            .as_object()
            .ok_or_else(|| Error::invalid("products", format!("entry {i} must be an object")))?;
        if let Some(k) = obj
            .keys()
            .find(|k| !["match", "space_ids", "course_ids"].contains(&k.as_str()))
        {
            return Err(Error::invalid(&field(k), "is not a product field"));
        }
        let match_id = bounded_string(obj.get("match"), &field("match"), 200)?
            .ok_or_else(|| Error::invalid(&field("match"), "is required"))?;
        if out.iter().any(|p| p.match_id == match_id) {
            return Err(Error::invalid(&field("match"), "is listed twice"));
        }
        let lists = |name: &str| -> Result<Vec<i64>> {
            id_list(obj, name)
                .map(Option::unwrap_or_default)
                .map_err(|_| {
                    Error::invalid(
                        &field(name),
                        "must be an array of positive integer ids (at most 20)",
                    )
                })
        };
        out.push(Product {
            match_id,
            space_ids: lists("space_ids")?,
            course_ids: lists("course_ids")?,
        });
    }
    for (name, pick) in [
        (
            "space_ids",
            (|p: &Product| p.space_ids.clone()) as fn(&Product) -> Vec<i64>,
        ),
        ("course_ids", |p: &Product| p.course_ids.clone()),
    ] {
        let all: BTreeSet<i64> = out.iter().flat_map(pick).collect();
        if all.len() > MAX_IDS_PER_LIST {
            return Err(Error::invalid(
                "products",
                format!("at most {MAX_IDS_PER_LIST} distinct {name} across all products"),
            ));
        }
    }
    Ok(Some(out))
}
