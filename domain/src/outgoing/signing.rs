//! The request of one delivery attempt: its headers and signatures
//! (docs/reference/outgoing.md#the-delivery), and the delivery id they carry.

use std::collections::BTreeMap;

use super::OutgoingConfig;
use crate::secret;

/// The one list of the headers Switchboard sets on a delivery (as sent): [`signed_headers`]
/// writes them, [`header::RESERVED`] keeps endpoints from setting them, the OpenAPI document describes
/// them.
pub mod header {
    pub const CONTENT_TYPE: &str = "Content-Type";
    pub const USER_AGENT: &str = "User-Agent";
    pub const FLUENT_SIGNATURE: &str = "X-Fluent-Signature";
    pub const FLUENTCRM_SIGNATURE: &str = "X-FluentCRM-Signature";
    pub const FLUENTCRM_EVENT: &str = "X-FluentCRM-Event";
    pub const FLUENTCRM_WEBHOOK_ID: &str = "X-FluentCRM-Webhook-ID";
    pub const FLUENTCRM_DELIVERY: &str = "X-FluentCRM-Delivery";
    pub const WEBHOOK_ID: &str = "webhook-id";
    pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
    pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

    /// Headers an endpoint may not set (compared ignoring case): they belong to the
    /// transport, identify the delivery or carry its signatures.
    pub const RESERVED: [&str; 13] = [
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        USER_AGENT,
        FLUENT_SIGNATURE,
        FLUENTCRM_SIGNATURE,
        FLUENTCRM_EVENT,
        FLUENTCRM_WEBHOOK_ID,
        FLUENTCRM_DELIVERY,
        WEBHOOK_ID,
        WEBHOOK_TIMESTAMP,
        WEBHOOK_SIGNATURE,
    ];

    /// Whether an endpoint may not set this header.
    pub fn is_reserved(name: &str) -> bool {
        RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
    }
}

/// The headers of one attempt, in order: defaults (the body's `content_type`), custom headers,
/// then identification and signatures (which custom headers can never override).
pub fn signed_headers(
    endpoint: &OutgoingConfig,
    event: &str,
    delivery_id: &str,
    content_type: &str,
    body: &str,
    timestamp: i64,
) -> Vec<(String, String)> {
    let sig = format!(
        "sha256={}",
        secret::hmac_sha256_hex(endpoint.secret.as_bytes(), body.as_bytes())
    );
    let mut h = vec![
        (header::CONTENT_TYPE.to_string(), content_type.to_string()),
        (
            header::USER_AGENT.to_string(),
            "Switchboard-Webhook/1.0".to_string(),
        ),
    ];
    for (k, v) in &endpoint.headers {
        if k.eq_ignore_ascii_case(header::CONTENT_TYPE) {
            h[0].1 = v.clone();
        } else {
            h.push((k.clone(), v.clone()));
        }
    }
    h.extend(
        [
            (header::FLUENT_SIGNATURE, sig.clone()),
            (header::FLUENTCRM_SIGNATURE, sig),
            (header::FLUENTCRM_EVENT, event.to_string()),
            (header::FLUENTCRM_WEBHOOK_ID, endpoint.id.to_string()),
            (header::FLUENTCRM_DELIVERY, delivery_id.to_string()),
            (header::WEBHOOK_ID, delivery_id.to_string()),
            (header::WEBHOOK_TIMESTAMP, timestamp.to_string()),
            (
                header::WEBHOOK_SIGNATURE,
                standard_signatures(endpoint, delivery_id, timestamp, body),
            ),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    h
}

/// `webhook-signature`: the current secret's, then during a rotation's overlap the previous
/// secret's, space-separated as Standard Webhooks allows
/// (docs/reference/outgoing.md#filters-and-secret-rotation).
fn standard_signatures(
    endpoint: &OutgoingConfig,
    delivery_id: &str,
    timestamp: i64,
    body: &str,
) -> String {
    let sign = |s: &str| secret::standard_webhooks_sign(s, delivery_id, timestamp, body.as_bytes());
    let mut sig = sign(&endpoint.secret);
    if let Some(previous) = endpoint.overlapping_secret(timestamp) {
        sig.push(' ');
        sig.push_str(&sign(&previous.secret));
    }
    sig
}

/// Headers as the delivery log shows them: signatures and custom header values redacted.
pub fn loggable_headers(
    headers: &[(String, String)],
    endpoint: &OutgoingConfig,
) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let secret_like = lower.ends_with("signature") || endpoint.headers.contains_key(k);
            (
                k.clone(),
                if secret_like {
                    "[redacted]".into()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

/// A delivery id stable for one (event, endpoint): the event's time and a hash of both ids, so
/// a re-processed event maps onto the same delivery.
pub fn delivery_id(event_id: &str, webhook_id: i64) -> String {
    let ts = ulid::Ulid::from_string(event_id)
        .map(|u| u.timestamp_ms())
        .unwrap_or(0);
    let h = secret::sha256_hex(&format!("{event_id}:{webhook_id}"));
    let random = u128::from_str_radix(&h[..20], 16).unwrap_or(0);
    ulid::Ulid::from_parts(ts, random).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Destination;
    use crate::outgoing::Ordering;

    #[test]
    fn stable_delivery_ids() {
        let e = "01HQ3Z9X4K8M2N5P7R9T1V3W5Y";
        assert_eq!(delivery_id(e, 1), delivery_id(e, 1));
        assert_ne!(delivery_id(e, 1), delivery_id(e, 2));
        assert_eq!(
            ulid::Ulid::from_string(&delivery_id(e, 1))
                .unwrap()
                .timestamp_ms(),
            ulid::Ulid::from_string(e).unwrap().timestamp_ms()
        );
    }

    #[test]
    fn signatures() {
        let body = r#"{"event":"feed.created","data":{"id":1}}"#;
        let cfg = OutgoingConfig {
            id: 1,
            name: "n".into(),
            url: "https://x.example".into(),
            events: vec![crate::events::EventPattern::all()],
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            headers: BTreeMap::from([("X-API-Key".to_string(), "k".to_string())]),
            retry_count: 3,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            revision: 0,
            ordering: Ordering::None,
            destination: Destination::default(),
            filter: None,
            rate_limit: None,
            previous_secret: None,
        };
        let h = signed_headers(
            &cfg,
            "feed.created",
            "d1",
            "application/json",
            body,
            1_700_000_000,
        );
        let get = |n: &str| {
            h.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(
            get("X-Fluent-Signature"),
            format!(
                "sha256={}",
                secret::hmac_sha256_hex(cfg.secret.as_bytes(), body.as_bytes())
            )
        );
        assert_eq!(get("X-API-Key"), "k");
        assert_eq!(get("Content-Type"), "application/json");
        assert!(secret::standard_webhooks_verify(
            &cfg.secret,
            "d1",
            "1700000000",
            &get("webhook-signature"),
            body.as_bytes(),
            1_700_000_000
        ));
        // Every header Switchboard sets but the content type is one an endpoint cannot set.
        let names: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Content-Type",
                "User-Agent",
                "X-API-Key",
                "X-Fluent-Signature",
                "X-FluentCRM-Signature",
                "X-FluentCRM-Event",
                "X-FluentCRM-Webhook-ID",
                "X-FluentCRM-Delivery",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
            ]
        );
        for n in &names[3..] {
            assert!(header::is_reserved(n), "{n}");
        }
        assert!(header::is_reserved("user-agent") && header::is_reserved("HOST"));
        assert!(!header::is_reserved("Content-Type") && !header::is_reserved("X-API-Key"));
        let logged = loggable_headers(&h, &cfg);
        assert_eq!(logged["X-API-Key"], "[redacted]");
        assert_eq!(logged["webhook-signature"], "[redacted]");
        assert_eq!(logged["X-FluentCRM-Event"], "feed.created");
    }

    #[test]
    fn rotation_overlap_signs_with_both_secrets() {
        let body = r#"{"event":"feed.created"}"#;
        let mut cfg: OutgoingConfig = serde_json::from_value(serde_json::json!({
            "id": 1, "name": "n", "url": "https://x.example", "events": ["*"],
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "retry_count": 3,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        }))
        .unwrap();
        let old = cfg.secret.clone();
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t0 = now.as_second();
        cfg.rotate("whsec_bmV3IHNlY3JldCBmb3IgdGVzdHM=".into(), 3600, now);
        let new = cfg.secret.clone();
        let sig_at = |cfg: &OutgoingConfig, t: i64| {
            let h = signed_headers(cfg, "feed.created", "d1", "application/json", body, t);
            let get = |n: &str| {
                h.iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
                    .unwrap()
            };
            (get("webhook-signature"), get("X-Fluent-Signature"))
        };
        let verify = |secret: &str, sigs: &str, t: i64| {
            secret::standard_webhooks_verify(secret, "d1", &t.to_string(), sigs, body.as_bytes(), t)
        };
        // Within the overlap: both `v1,` signatures, new first; the seed header uses the new one.
        let (sw, seed) = sig_at(&cfg, t0 + 3599);
        assert_eq!(sw.split(' ').count(), 2, "{sw}");
        assert!(verify(&new, &sw, t0 + 3599) && verify(&old, &sw, t0 + 3599));
        assert_eq!(
            seed,
            format!(
                "sha256={}",
                secret::hmac_sha256_hex(new.as_bytes(), body.as_bytes())
            )
        );
        // After it: the new secret only.
        let (sw, _) = sig_at(&cfg, t0 + 3600);
        assert_eq!(sw.split(' ').count(), 1);
        assert!(verify(&new, &sw, t0 + 3600) && !verify(&old, &sw, t0 + 3600));
        // A rotation during the overlap drops the oldest; overlap 0 ends every overlap.
        cfg.rotate("whsec_dGhpcmQgc2VjcmV0IGZvciB0ZXN0cw==".into(), 3600, now);
        assert_eq!(cfg.previous_secret.as_ref().unwrap().secret, new);
        let (sw, _) = sig_at(&cfg, t0 + 10);
        assert!(!verify(&old, &sw, t0 + 10) && verify(&new, &sw, t0 + 10));
        cfg.rotate("whsec_Zm91cnRoIHNlY3JldCBmb3IgdGVzdHM=".into(), 0, now);
        assert!(cfg.previous_secret.is_none());
        assert_eq!(sig_at(&cfg, t0 + 10).0.split(' ').count(), 1);
        assert!(!format!("{:?}", cfg).contains("whsec_"));
    }
}
