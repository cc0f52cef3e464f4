//! The `standard` format: the signed JSON envelope of docs/reference/outgoing.md#the-delivery,
//! unchanged since the first release (the seeds' receivers verify it byte for byte).

use serde_json::{json, Map, Value};

use crate::json::{canonicalize, to_js_string};

/// The exact body of a delivery (compact, JavaScript-canonical) — signed as is.
pub fn payload(
    event: &str,
    timestamp: &str,
    webhook_id: i64,
    delivery_id: &str,
    data: &Value,
    xprofile: Option<&Value>,
) -> String {
    let mut m = Map::new();
    m.insert("event".into(), json!(event));
    m.insert("timestamp".into(), json!(timestamp));
    m.insert("webhook_id".into(), json!(webhook_id));
    m.insert("delivery_id".into(), json!(delivery_id));
    m.insert("data".into(), canonicalize(data.clone()));
    if let Some(x) = xprofile {
        m.insert("xprofile".into(), canonicalize(x.clone()));
    }
    // Keep the seed's field order: serde_json's map is sorted, so write the envelope by hand.
    let mut out = String::from("{");
    for (i, key) in [
        "event",
        "timestamp",
        "webhook_id",
        "delivery_id",
        "data",
        "xprofile",
    ]
    .iter()
    .enumerate()
    {
        let Some(v) = m.get(*key) else { continue };
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("\"{key}\":{}", to_js_string(v)));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_order() {
        let body = payload(
            "feed.created",
            "2024-01-15T10:30:00Z",
            1,
            "d1",
            &json!({"id": 1}),
            None,
        );
        assert_eq!(
            body,
            r#"{"event":"feed.created","timestamp":"2024-01-15T10:30:00Z","webhook_id":1,"delivery_id":"d1","data":{"id":1}}"#
        );
        let with_profile = payload(
            "feed.created",
            "t",
            1,
            "d1",
            &json!({}),
            Some(&json!({"user_id": 9007199254740993u64})),
        );
        assert!(with_profile.ends_with(r#""xprofile":{"user_id":"9007199254740993"}}"#));
    }
}
