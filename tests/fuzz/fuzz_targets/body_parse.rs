//! The incoming body parsers (multipart, url-encoded, JSON) never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TYPES: [Option<&str>; 6] = [
    Some("multipart/form-data; boundary=X-BOUNDARY"),
    Some("application/x-www-form-urlencoded"),
    Some("application/json"),
    Some("application/vnd.api+json; charset=utf-8"),
    Some("text/plain"),
    None,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let ct = TYPES[usize::from(pick) % TYPES.len()];
    let _ = futures::executor::block_on(switchboard::transport::body::parse(ct, body, 64 * 1024));
});
