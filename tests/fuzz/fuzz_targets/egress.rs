//! The address classifier (SSRF rules, docs/reference/security.md "Outgoing egress") never
//! panics on any IPv4 or IPv6 address, and every address with an embedded IPv4 is judged at
//! least as strictly as that IPv4.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use switchboard::domain::egress::{classify, classify_v4, embedded_v4};

fuzz_target!(|data: &[u8]| {
    if data.len() >= 16 {
        let mut b = [0u8; 16];
        b.copy_from_slice(&data[..16]);
        let ip = Ipv6Addr::from(b);
        let verdict = classify(IpAddr::V6(ip));
        for v4 in embedded_v4(ip) {
            if classify_v4(v4).is_some() {
                assert!(verdict.is_some(), "{ip} embeds {v4} but passes");
            }
        }
    }
    if data.len() >= 4 {
        let ip = Ipv4Addr::new(data[0], data[1], data[2], data[3]);
        let _ = classify(IpAddr::V4(ip));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(ip) = s.parse::<IpAddr>() {
            let _ = classify(ip);
        }
    }
});
