//! An endpoint's payload filter (docs/reference/outgoing.md#filters-and-secret-rotation "Filters"):
//! which of the events it subscribes to it receives, decided on the payload of §6.3 before any
//! delivery record is made.
//!
//! A filter is a JSON object whose keys are dot paths into the payload (`data.space_id`,
//! `xprofile.meta.plan`, `event`) and whose values are a literal (equality) or an operator
//! object (`{"$in": [12, 13]}`); every key must match. `$and`, `$or` (lists) and `$not` combine
//! whole filters at the top level, and conditions inside an operator object. Missing values
//! match only `$ne`, `$nin`, `$exists: false` and `$not` of something that does not match.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The longest filter, serialized.
pub const MAX_FILTER_BYTES: usize = 4096;
/// The deepest path (`a.b.c` is 3) and the deepest nesting of `$and`/`$or`/`$not`.
pub const MAX_DEPTH: usize = 8;

/// A validated filter (kept as the operator wrote it, so the API shows it back unchanged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Filter(Value);

/// Why a filter was refused (the admin API answers `400 invalid_param` naming `filter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(msg.into()))
}

impl Filter {
    /// Validates a filter object.
    pub fn parse(v: &Value) -> Result<Self, FilterError> {
        let size = serde_json::to_vec(v).map_or(usize::MAX, |b| b.len());
        if size > MAX_FILTER_BYTES {
            return err(format!(
                "must serialize to at most {MAX_FILTER_BYTES} bytes"
            ));
        }
        let Value::Object(m) = v else {
            return err("must be null or an object of paths to conditions");
        };
        check_filter(m, 0)?;
        Ok(Self(v.clone()))
    }

    /// The filter as the operator wrote it.
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// Whether `payload` (the delivered payload of §6.3) passes.
    pub fn matches(&self, payload: &Value) -> bool {
        self.0
            .as_object()
            .is_some_and(|m| filter_matches(m, payload))
    }
}

// --- validation ----------------------------------------------------------------------------------

fn check_filter(m: &Map<String, Value>, depth: usize) -> Result<(), FilterError> {
    if depth > MAX_DEPTH {
        return err(format!("nests deeper than {MAX_DEPTH}"));
    }
    for (key, cond) in m {
        match key.as_str() {
            "$and" | "$or" => {
                let Value::Array(items) = cond else {
                    return err(format!("{key} takes a list of filters"));
                };
                if items.is_empty() {
                    return err(format!("{key} takes a non-empty list"));
                }
                for item in items {
                    let Value::Object(sub) = item else {
                        return err(format!("{key} takes a list of filter objects"));
                    };
                    check_filter(sub, depth + 1)?;
                }
            }
            "$not" => {
                let Value::Object(sub) = cond else {
                    return err("$not takes a filter object");
                };
                check_filter(sub, depth + 1)?;
            }
            k if k.starts_with('$') => return err(format!("unknown operator {k}")),
            path => {
                check_path(path)?;
                check_condition(cond, depth)?;
            }
        }
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), FilterError> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return err(format!("'{}' is not a dot path", short(path)));
    }
    if segments.len() > MAX_DEPTH {
        return err(format!(
            "'{}' is deeper than {MAX_DEPTH} levels",
            short(path)
        ));
    }
    Ok(())
}

/// A path's condition: a literal, or an object of operators (every key starting with `$`).
fn check_condition(cond: &Value, depth: usize) -> Result<(), FilterError> {
    if depth > MAX_DEPTH {
        return err(format!("nests deeper than {MAX_DEPTH}"));
    }
    let Some(ops) = operators(cond)? else {
        return Ok(());
    };
    for (op, operand) in ops {
        match op.as_str() {
            "$eq" | "$ne" => {}
            "$in" | "$nin" => {
                if !operand.is_array() {
                    return err(format!("{op} takes a list"));
                }
            }
            "$gt" | "$gte" | "$lt" | "$lte" => {
                if !(operand.is_number() || operand.is_string()) {
                    return err(format!("{op} takes a number or a string"));
                }
            }
            "$exists" => {
                if !operand.is_boolean() {
                    return err("$exists takes true or false");
                }
            }
            "$contains" => {
                if operand.is_object() || operand.is_array() {
                    return err("$contains takes a string, number, boolean or null");
                }
            }
            "$and" | "$or" => {
                let Value::Array(items) = operand else {
                    return err(format!("{op} takes a list of conditions"));
                };
                if items.is_empty() {
                    return err(format!("{op} takes a non-empty list"));
                }
                for item in items {
                    check_condition(item, depth + 1)?;
                }
            }
            "$not" => check_condition(operand, depth + 1)?,
            other => return err(format!("unknown operator {}", short(other))),
        }
    }
    Ok(())
}

/// The operators of a condition, or `None` for a literal. An object mixing `$` keys with
/// plain keys is refused: it is neither.
fn operators(cond: &Value) -> Result<Option<&Map<String, Value>>, FilterError> {
    let Value::Object(m) = cond else {
        return Ok(None);
    };
    let ops = m.keys().filter(|k| k.starts_with('$')).count();
    match ops {
        0 => Ok(None),
        n if n == m.len() => Ok(Some(m)),
        _ => err("an operator object may hold only operators ($eq, $in, ...)"),
    }
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

// --- evaluation ----------------------------------------------------------------------------------

fn filter_matches(m: &Map<String, Value>, payload: &Value) -> bool {
    m.iter().all(|(key, cond)| match key.as_str() {
        "$and" => list(cond).iter().all(|f| sub_filter(f, payload)),
        "$or" => list(cond).iter().any(|f| sub_filter(f, payload)),
        "$not" => !sub_filter(cond, payload),
        path => condition_matches(cond, lookup(payload, path)),
    })
}

fn sub_filter(f: &Value, payload: &Value) -> bool {
    f.as_object().is_some_and(|m| filter_matches(m, payload))
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// The value at a dot path (`None`: absent). A numeric segment indexes a list.
fn lookup<'a>(payload: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(payload, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn condition_matches(cond: &Value, actual: Option<&Value>) -> bool {
    match operators(cond) {
        Ok(Some(ops)) => ops
            .iter()
            .all(|(op, operand)| op_matches(op, operand, actual)),
        _ => actual.is_some_and(|a| equal(a, cond)),
    }
}

fn op_matches(op: &str, operand: &Value, actual: Option<&Value>) -> bool {
    match op {
        "$eq" => actual.is_some_and(|a| equal(a, operand)),
        "$ne" => !actual.is_some_and(|a| equal(a, operand)),
        "$in" => actual.is_some_and(|a| list(operand).iter().any(|o| equal(a, o))),
        "$nin" => !actual.is_some_and(|a| list(operand).iter().any(|o| equal(a, o))),
        "$gt" => compare(actual, operand).is_some_and(std::cmp::Ordering::is_gt),
        "$gte" => compare(actual, operand).is_some_and(std::cmp::Ordering::is_ge),
        "$lt" => compare(actual, operand).is_some_and(std::cmp::Ordering::is_lt),
        "$lte" => compare(actual, operand).is_some_and(std::cmp::Ordering::is_le),
        "$exists" => actual.is_some() == operand.as_bool().unwrap_or(true),
        "$contains" => match (actual, operand) {
            (Some(Value::String(s)), Value::String(needle)) => s.contains(needle.as_str()),
            (Some(Value::Array(items)), o) => items.iter().any(|i| equal(i, o)),
            _ => false,
        },
        "$and" => list(operand).iter().all(|c| condition_matches(c, actual)),
        "$or" => list(operand).iter().any(|c| condition_matches(c, actual)),
        "$not" => !condition_matches(operand, actual),
        _ => false,
    }
}

/// JSON equality, with numbers compared by value (`12` equals `12.0`).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// Numbers with numbers, strings with strings (RFC 3339 times compare as strings); anything
/// else does not compare.
fn compare(actual: Option<&Value>, operand: &Value) -> Option<std::cmp::Ordering> {
    match (actual?, operand) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Value::String(x), Value::String(y)) => Some(x.as_str().cmp(y.as_str())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn post(space: i64, plan: &str) -> Value {
        json!({
            "event": "feed.created",
            "timestamp": "2024-01-15T10:30:00Z",
            "webhook_id": 1,
            "delivery_id": "d",
            "data": {"space_id": space, "title": "Hello world", "tags": ["news", "rust"]},
            "xprofile": {"meta": {"plan": plan}}
        })
    }

    fn passes(f: Value, payload: &Value) -> bool {
        Filter::parse(&f).unwrap().matches(payload)
    }

    #[test]
    fn literals_are_equality_and_every_key_must_match() {
        let p = post(12, "pro");
        assert!(passes(json!({"data.space_id": 12}), &p));
        assert!(passes(json!({"data.space_id": 12.0}), &p));
        assert!(!passes(json!({"data.space_id": 13}), &p));
        assert!(passes(
            json!({"event": "feed.created", "xprofile.meta.plan": "pro"}),
            &p
        ));
        assert!(!passes(
            json!({"event": "feed.created", "xprofile.meta.plan": "free"}),
            &p
        ));
        assert!(passes(json!({}), &p));
        assert!(passes(json!({"data.tags": ["news", "rust"]}), &p));
        assert!(passes(json!({"data.tags.1": "rust"}), &p));
    }

    #[test]
    fn operators() {
        let p = post(12, "pro");
        assert!(passes(json!({"data.space_id": {"$in": [12, 13]}}), &p));
        assert!(!passes(json!({"data.space_id": {"$nin": [12, 13]}}), &p));
        assert!(passes(json!({"data.space_id": {"$ne": 13}}), &p));
        assert!(passes(
            json!({"data.space_id": {"$gt": 11, "$lte": 12}}),
            &p
        ));
        assert!(!passes(json!({"data.space_id": {"$lt": 12}}), &p));
        assert!(passes(json!({"data.space_id": {"$gte": 12}}), &p));
        assert!(passes(
            json!({"timestamp": {"$gte": "2024-01-01T00:00:00Z"}}),
            &p
        ));
        assert!(!passes(json!({"data.space_id": {"$gt": "11"}}), &p));
        assert!(passes(json!({"data.title": {"$contains": "world"}}), &p));
        assert!(passes(json!({"data.tags": {"$contains": "rust"}}), &p));
        assert!(!passes(json!({"data.tags": {"$contains": "go"}}), &p));
        assert!(passes(json!({"data.title": {"$exists": true}}), &p));
        assert!(passes(json!({"data.nothing": {"$exists": false}}), &p));
        assert!(passes(
            json!({"data.space_id": {"$not": {"$in": [1, 2]}}}),
            &p
        ));
        assert!(passes(
            json!({"data.space_id": {"$or": [13, {"$eq": 12}]}}),
            &p
        ));
        assert!(!passes(
            json!({"data.space_id": {"$and": [12, {"$gt": 20}]}}),
            &p
        ));
    }

    #[test]
    fn combinators_at_the_top() {
        let p = post(12, "pro");
        let either = json!({"$or": [{"data.space_id": 12}, {"data.space_id": 13}]});
        assert!(passes(either.clone(), &p));
        assert!(!passes(either, &post(14, "pro")));
        assert!(passes(
            json!({"$and": [{"event": "feed.created"}, {"$not": {"xprofile.meta.plan": "free"}}]}),
            &p
        ));
        assert!(!passes(json!({"$not": {"data.space_id": 12}}), &p));
    }

    #[test]
    fn missing_values() {
        let p = post(12, "pro");
        assert!(!passes(json!({"data.missing": 1}), &p));
        assert!(passes(json!({"data.missing": {"$ne": 1}}), &p));
        assert!(passes(json!({"data.missing": {"$nin": [1]}}), &p));
        assert!(!passes(json!({"data.missing": {"$in": [1]}}), &p));
        assert!(!passes(json!({"data.missing": {"$gt": 0}}), &p));
        assert!(!passes(json!({"data.space_id.deeper": 1}), &p));
        assert!(passes(
            json!({"data.space_id.deeper": {"$exists": false}}),
            &p
        ));
    }

    #[test]
    fn refused_filters() {
        for (f, why) in [
            (json!([1]), "object"),
            (json!("x"), "object"),
            (json!({"a": {"$regex": "x"}}), "unknown operator $regex"),
            (json!({"$nor": []}), "unknown operator $nor"),
            (json!({"a": {"$in": 3}}), "$in takes a list"),
            (json!({"a": {"$nin": "x"}}), "$nin takes a list"),
            (json!({"a": {"$gt": [1]}}), "$gt takes a number or a string"),
            (json!({"a": {"$exists": 1}}), "$exists takes true or false"),
            (json!({"a": {"$contains": {}}}), "$contains takes"),
            (json!({"a": {"$eq": 1, "b": 2}}), "only operators"),
            (json!({"$or": {}}), "$or takes a list"),
            (json!({"$or": []}), "non-empty"),
            (json!({"$not": 1}), "$not takes a filter object"),
            (json!({"a..b": 1}), "not a dot path"),
            (json!({"a.b.c.d.e.f.g.h.i": 1}), "deeper than 8"),
        ] {
            let e = Filter::parse(&f).unwrap_err();
            assert!(e.0.contains(why), "{f}: {e}");
        }
        let mut deep = json!({"a": 1});
        for _ in 0..9 {
            deep = json!({"$not": deep});
        }
        assert!(Filter::parse(&deep).unwrap_err().0.contains("deeper"));
        let big = json!({"a": {"$in": vec!["x".repeat(100); 50]}});
        assert!(Filter::parse(&big).unwrap_err().0.contains("4096"));
        assert!(Filter::parse(&json!({"a.b.c.d.e.f.g.h": 1})).is_ok());
    }

    #[test]
    fn round_trips_as_written() {
        let f = json!({"data.space_id": {"$in": [12, 13]}});
        let parsed = Filter::parse(&f).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), f);
        let back: Filter = serde_json::from_value(f.clone()).unwrap();
        assert_eq!(back, parsed);
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            (-50i64..50).prop_map(Value::from),
            "[a-c]{0,3}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
        ]
    }

    proptest! {
        /// `$not` is the complement, `$in` of one value is equality, and `$nin` the complement
        /// of `$in`, whatever the payload holds (or lacks).
        #[test]
        fn algebra(v in proptest::option::of(scalar()), o in scalar(), others in proptest::collection::vec(scalar(), 0..4)) {
            let payload = match &v { Some(v) => json!({"data": {"x": v}}), None => json!({"data": {}}) };
            let eq = json!({"data.x": {"$eq": o}});
            prop_assert_eq!(passes(json!({"$not": eq.clone()}), &payload), !passes(eq.clone(), &payload));
            prop_assert_eq!(passes(json!({"data.x": {"$in": [o.clone()]}}), &payload), passes(eq.clone(), &payload));
            prop_assert_eq!(passes(json!({"data.x": {"$ne": o.clone()}}), &payload), !passes(eq, &payload));
            let mut all = others.clone();
            all.push(o.clone());
            prop_assert_eq!(
                passes(json!({"data.x": {"$nin": all.clone()}}), &payload),
                !passes(json!({"data.x": {"$in": all}}), &payload)
            );
        }

        /// Any JSON the parser accepts evaluates without panicking, on any payload.
        #[test]
        fn accepted_filters_evaluate(key in "[a-z.$]{1,12}", cond in scalar(), op in "\\$(eq|ne|gt|lt|in|exists|contains|not)") {
            let f = json!({ key: { op: cond.clone() } });
            if let Ok(f) = Filter::parse(&f) {
                let _ = f.matches(&post(1, "pro"));
                let _ = f.matches(&json!(null));
            }
        }
    }
}
