//! Admin JSON bodies, read field by field: the shapes endpoints, incoming webhooks and the
//! catalog share. Every error is a `400` naming its field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A trimmed, non-empty string of at most `max` characters.
pub fn string_field(body: &Map<String, Value>, field: &str, max: usize) -> Result<Option<String>> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(Error::invalid(field, "must not be empty"))
        }
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(Error::invalid(field, format!("at most {max} characters")))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(Error::invalid(field, "must be a string")),
    }
}

/// A boolean, also as `0`/`1` or a string (`"1"`, `"true"`, `"yes"`; `"0"`, `"false"`, `"no"`,
/// `""`).
pub fn bool_field(body: &Map<String, Value>, field: &str) -> Result<Option<bool>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
            Ok(Some(n.as_i64() == Some(1)))
        }
        Some(Value::String(s)) => match s.as_str() {
            "1" | "true" | "yes" => Ok(Some(true)),
            "0" | "false" | "no" | "" => Ok(Some(false)),
            _ => Err(Error::invalid(field, "must be a boolean")),
        },
        Some(_) => Err(Error::invalid(field, "must be a boolean")),
    }
}

/// A short string (at most 20 characters) naming one of `choices`; any other name is `rule`.
pub fn one_of<T: Copy>(
    body: &Map<String, Value>,
    field: &str,
    choices: &[(&str, T)],
    rule: &str,
) -> Result<Option<T>> {
    let Some(name) = string_field(body, field, 20)? else {
        return Ok(None);
    };
    choices
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| Some(*v))
        .ok_or_else(|| Error::invalid(field, rule))
}

/// A field `null` leaves as it is: absent or `null` is `None`, any other value goes to `read`.
pub fn optional<T>(
    body: &Map<String, Value>,
    field: &str,
    read: impl FnOnce(&Value) -> Result<T>,
) -> Result<Option<T>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => read(v).map(Some),
    }
}

/// A field `null` clears: absent is `None`, `null` is `Some` of the empty value, any other value
/// goes to `read`.
pub fn clearable<T: Default>(
    body: &Map<String, Value>,
    field: &str,
    read: impl FnOnce(&Value) -> Result<T>,
) -> Result<Option<T>> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(T::default())),
        Some(v) => read(v).map(Some),
    }
}

/// A string that `null` or `""` clears (`Some(None)`); any other string must pass `valid`, else
/// the error says `rule`.
pub fn clearable_string(
    body: &Map<String, Value>,
    field: &str,
    valid: impl FnOnce(&str) -> bool,
    rule: &str,
) -> Result<Option<Option<String>>> {
    clearable(body, field, |v| match v {
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) if valid(s) => Ok(Some(s.clone())),
        Value::String(_) => Err(Error::invalid(field, rule)),
        _ => Err(Error::invalid(field, "must be a string")),
    })
}

/// Every item of an array, each read by `item` in order; anything but an array is `must`.
pub fn array_of<T>(
    field: &str,
    v: &Value,
    must: &str,
    item: impl FnMut(&Value) -> Result<T>,
) -> Result<Vec<T>> {
    match v {
        Value::Array(items) => items.iter().map(item).collect(),
        _ => Err(Error::invalid(field, must)),
    }
}

/// Every entry of an object, each value read by `entry` in order; anything but an object is
/// `must`.
pub fn object_of<T>(
    field: &str,
    v: &Value,
    must: &str,
    mut entry: impl FnMut(&str, &Value) -> Result<T>,
) -> Result<BTreeMap<String, T>> {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| Ok((k.clone(), entry(k, v)?)))
            .collect(),
        _ => Err(Error::invalid(field, must)),
    }
}
