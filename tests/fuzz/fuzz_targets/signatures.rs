//! Every signature-header parser (the seeds' `X-Webhook-Signature`, Standard Webhooks, and each
//! provider's scheme) and each provider's event reader never panic, and refuse what they cannot
//! verify. The input is split into a header value and a body at the first 0x00 byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::domain::incoming::providers::{extract, verify, Body, Headers, Source};
use switchboard::domain::secret::{standard_webhooks_verify, verify_sha256_header};

const SOURCES: [(Source, &str); 7] = [
    (Source::Stripe, "stripe-signature"),
    (Source::Paddle, "paddle-signature"),
    (Source::Shopify, "x-shopify-hmac-sha256"),
    (Source::Woocommerce, "x-wc-webhook-signature"),
    (Source::Lemonsqueezy, "x-signature"),
    (Source::Typeform, "typeform-signature"),
    (Source::StandardWebhooks, "webhook-signature"),
];

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (header, body) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let header = String::from_utf8_lossy(header).to_string();
    let now = 1_800_000_000;
    assert!(!verify_sha256_header(b"secret", body, &header));
    let _ = standard_webhooks_verify("whsec_c2VjcmV0", "msg_1", &header, &header, body, now);
    for (source, name) in SOURCES {
        let headers = Headers(vec![
            (name.to_string(), header.clone()),
            ("webhook-id".into(), "msg_1".into()),
            ("webhook-timestamp".into(), header.clone()),
            ("x-shopify-topic".into(), header.clone()),
            ("x-wc-webhook-topic".into(), header.clone()),
        ]);
        let _ = verify(source, Some("whsec_c2VjcmV0"), &headers, body, now);
        if let Ok(v) = serde_json::from_slice(body) {
            let _ = extract(source, &headers, &Body::Json(v));
        }
    }
});
