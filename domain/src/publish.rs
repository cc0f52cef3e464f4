//! Idempotent publish (docs/reference/outgoing.md#publishing-events): which calls of `POST
//! /admin/events` are the same call.
//!
//! A caller names a publish with an `Idempotency-Key` header or an `event_id` in the body; a
//! repeat within [`IDEMPOTENCY_WINDOW_SECONDS`] returns the first call's answer and publishes
//! nothing, and a repeat with a different body is a conflict. The body is compared by a
//! fingerprint that ignores key order and whitespace.

use serde_json::{Map, Value};

use crate::secret::sha256_hex;

/// How long a publish's key is remembered.
pub const IDEMPOTENCY_WINDOW_SECONDS: i64 = 24 * 3600;

/// Why a publish's key was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub field: &'static str,
    pub reason: &'static str,
}

/// The key a publish is remembered by: the header's, else the body's `event_id` (each in its
/// own namespace, so a header key never collides with an event id).
pub fn publish_key(
    header: Option<&str>,
    body: &Map<String, Value>,
) -> Result<Option<String>, KeyError> {
    if let Some(h) = header {
        let printable = h.bytes().all(|b| (0x20..=0x7e).contains(&b));
        if h.is_empty() || h.len() > 255 || !printable {
            return Err(KeyError {
                field: "Idempotency-Key",
                reason: "must be 1 to 255 printable ASCII characters",
            });
        }
        return Ok(Some(sha256_hex(&format!("key:{h}"))));
    }
    match body.get("event_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) if is_event_id(id) => Ok(Some(sha256_hex(&format!("event:{id}")))),
        Some(_) => Err(KeyError {
            field: "event_id",
            reason: "must be a ULID or 1 to 64 of A-Z, a-z, 0-9, '_' and '-'",
        }),
    }
}

/// A caller's event id: a ULID, or 1–64 of `[A-Za-z0-9_-]` (a ULID is such a string too).
fn is_event_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A body's fingerprint: sha256 of its JSON with every object's keys sorted.
pub fn fingerprint(body: &Map<String, Value>) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sha256_hex(&sorted(&Value::Object(body.clone())).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn keys_from_the_header_or_the_event_id() {
        let body = obj(json!({"event": "feed.created", "event_id": "post-123"}));
        let by_header = publish_key(Some("abc"), &body).unwrap().unwrap();
        let by_id = publish_key(None, &body).unwrap().unwrap();
        assert_ne!(by_header, by_id);
        assert_eq!(
            publish_key(Some("abc"), &obj(json!({}))).unwrap(),
            Some(by_header)
        );
        assert_eq!(publish_key(None, &obj(json!({}))).unwrap(), None);
        assert!(publish_key(
            None,
            &obj(json!({"event_id": "01HQ3Z9X4K8M2N5P7R9T1V3W5Y"}))
        )
        .is_ok());
        for bad in ["", "é", "a\u{7f}", &"k".repeat(256)] {
            assert_eq!(
                publish_key(Some(bad), &body).unwrap_err().field,
                "Idempotency-Key"
            );
        }
        assert!(publish_key(Some(&"k".repeat(255)), &body).is_ok());
        for bad in [
            json!("a b"),
            json!(""),
            json!("x".repeat(65)),
            json!(12),
            json!("a/b"),
        ] {
            let e = publish_key(None, &obj(json!({ "event_id": bad }))).unwrap_err();
            assert_eq!(e.field, "event_id");
        }
    }

    #[test]
    fn fingerprints_ignore_key_order_only() {
        let a = obj(json!({"event": "feed.created", "data": {"a": 1, "b": [1, {"x": 1, "y": 2}]}}));
        let b = obj(json!({"data": {"b": [1, {"y": 2, "x": 1}], "a": 1}, "event": "feed.created"}));
        let c = obj(json!({"event": "feed.created", "data": {"a": 2, "b": [1, {"x": 1, "y": 2}]}}));
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
