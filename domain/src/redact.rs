//! `Debug` for types that hold secrets: every field is shown except those whose name says it is
//! a secret (keys, secrets, passwords, hashes, signatures, raw bodies), which read `[redacted]`.
//! A field added later is covered by its name without touching the `Debug` impl.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// Field names (or name parts) whose values are never shown.
const SECRET_NAMES: &[&str] = &[
    "secret",
    "password",
    "user_pass",
    "hash",
    "signature",
    "authorization",
    "token",
    "key",
    "raw_body",
];

pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| lower.contains(s))
}

fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if is_secret_name(k) && !v.is_null() {
                    *v = Value::String("[redacted]".into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Writes `Name { ...fields }` with secret-named fields redacted.
pub fn debug<T: Serialize>(name: &str, value: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut v = serde_json::to_value(value).unwrap_or(Value::Null);
    redact(&mut v);
    write!(f, "{name} {v}")
}

/// Implements `Debug` through [`debug`] for `Serialize` types.
#[macro_export]
macro_rules! redacted_debug {
    ($($t:ty),+ $(,)?) => {$(
        impl ::std::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::redact::debug(stringify!($t), self, f)
            }
        }
    )+};
}
pub use crate::redacted_debug;

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize)]
    struct Holder {
        id: i64,
        name: String,
        signing_secret: Option<String>,
        nested: Vec<Inner>,
    }

    #[derive(serde::Serialize)]
    struct Inner {
        password_hash: String,
        api_key: String,
    }

    redacted_debug!(Holder);

    #[test]
    fn secrets_never_reach_debug() {
        let h = Holder {
            id: 7,
            name: "shown".into(),
            signing_secret: Some("s3cret-value".into()),
            nested: vec![Inner {
                password_hash: "$argon2id$hash".into(),
                api_key: "k-123".into(),
            }],
        };
        let text = format!("{h:?}");
        assert!(text.contains("shown") && text.contains('7'), "{text}");
        for secret in ["s3cret-value", "$argon2id$hash", "k-123"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.starts_with("Holder {"));
    }
}
