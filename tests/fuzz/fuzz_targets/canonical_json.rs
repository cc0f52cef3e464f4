//! The JavaScript-canonical JSON writer (the signed bytes of every delivery) never panics and
//! always writes JSON that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::domain::json::{canonicalize, to_js_string};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let out = to_js_string(&canonicalize(v));
    assert!(
        serde_json::from_str::<serde_json::Value>(&out).is_ok(),
        "not JSON: {out}"
    );
});
