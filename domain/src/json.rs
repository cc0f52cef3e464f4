//! Serializing delivery bodies exactly as JavaScript's `JSON.stringify(JSON.parse(body))` would.
//!
//! The seed's verifier re-serializes the parsed body before checking the signature, so the bytes
//! we sign must already be in that canonical form:
//! - compact, strings escaped as JavaScript escapes them (serde_json matches: `\b \f \n \r \t`,
//!   other controls as lower-case `\u00xx`, everything else verbatim);
//! - numbers formatted as ECMAScript `Number::toString` formats doubles;
//! - integer-like keys ("0", "12") first in ascending numeric order, then the other keys in
//!   insertion order (JavaScript objects order their keys that way; serde_json's
//!   `preserve_order` keeps the insertion order).
//!
//! Integers beyond ±(2^53 − 1) cannot survive `JSON.parse` exactly; [`canonicalize`] turns them
//! into strings so that no digit is lost and the signature still verifies.

use serde_json::{Map, Value};

const MAX_SAFE: u64 = (1 << 53) - 1;

/// Replaces integers JavaScript cannot represent exactly by their decimal strings.
pub fn canonicalize(v: Value) -> Value {
    match v {
        Value::Number(n) => {
            let unsafe_int = match (n.as_i64(), n.as_u64()) {
                (_, Some(u)) => u > MAX_SAFE,
                (Some(i), None) => i.unsigned_abs() > MAX_SAFE,
                (None, None) => false,
            };
            if unsafe_int {
                Value::String(n.to_string())
            } else {
                Value::Number(n)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonicalize).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, canonicalize(v))).collect())
        }
        other => other,
    }
}

/// Compact JSON text in JavaScript's canonical form.
pub fn to_js_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(v, &mut out);
    out
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&js_number(n)),
        Value::String(s) => write_str(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => write_object(m, out),
    }
}

fn write_str(s: &str, out: &mut String) {
    // serde_json escapes strings exactly like JSON.stringify does for valid Unicode text.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

/// A canonical array index: "0", or digits without a leading zero, below 2^32 − 1.
fn array_index(k: &str) -> Option<u64> {
    if k.is_empty()
        || k.len() > 10
        || !k.bytes().all(|b| b.is_ascii_digit())
        || (k.len() > 1 && k.starts_with('0'))
    {
        return None;
    }
    k.parse::<u64>().ok().filter(|n| *n < u64::from(u32::MAX))
}

fn write_object(m: &Map<String, Value>, out: &mut String) {
    let mut indexed: Vec<(u64, &String, &Value)> = Vec::new();
    let mut named: Vec<(&String, &Value)> = Vec::new();
    for (k, v) in m {
        match array_index(k) {
            Some(i) => indexed.push((i, k, v)),
            None => named.push((k, v)),
        }
    }
    indexed.sort_by_key(|(i, _, _)| *i);
    out.push('{');
    let entries = indexed.into_iter().map(|(_, k, v)| (k, v)).chain(named);
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(k, out);
        out.push(':');
        write_value(v, out);
    }
    out.push('}');
}

/// ECMAScript Number::toString(10) for the double a JSON number parses to.
fn js_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= MAX_SAFE {
            return i.to_string();
        }
    }
    if let Some(u) = n.as_u64() {
        if u <= MAX_SAFE {
            return u.to_string();
        }
    }
    let f = n.as_f64().unwrap_or(0.0);
    format_double(f)
}

pub fn format_double(f: f64) -> String {
    if f.is_nan() || f.is_infinite() {
        return "null".into();
    }
    if f == 0.0 {
        return "0".into();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // Shortest round-trip digits from Rust's formatter, in scientific form: d.ddde±x.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exp + 1; // position of the decimal point relative to the digits
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e_str = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        if k == 1 {
            format!("{digits}e{e_str}")
        } else {
            format!("{}.{}e{e_str}", &digits[..1], &digits[1..])
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_like_javascript() {
        for (f, js) in [
            (1.0, "1"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1.5e16, "15000000000000000"),
            (123456789.0, "123456789"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(format_double(f), js, "{f}");
        }
    }

    #[test]
    fn keys_and_strings_like_javascript() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"10":2,"2":3,"a":"é😀\"\n\u0001/","01":4}"#).unwrap();
        assert_eq!(
            to_js_string(&v),
            r#"{"2":3,"10":2,"b":1,"a":"é😀\"\n\u0001/","01":4}"#
        );
    }

    #[test]
    fn large_integers_become_strings() {
        let v = canonicalize(
            json!({"id": 820982911946154508u64, "small": 9007199254740991u64, "neg": -9007199254740993i64}),
        );
        assert_eq!(
            to_js_string(&v),
            r#"{"id":"820982911946154508","small":9007199254740991,"neg":"-9007199254740993"}"#
        );
    }
}
