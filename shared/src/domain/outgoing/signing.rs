//! The request of one delivery attempt: its headers and signatures (SPEC §6.3), and the
//! delivery id they carry.

use std::collections::BTreeMap;

use super::OutgoingConfig;
use crate::domain::secret;

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
        ("Content-Type".to_string(), content_type.to_string()),
        (
            "User-Agent".to_string(),
            "Switchboard-Webhook/1.0".to_string(),
        ),
    ];
    for (k, v) in &endpoint.headers {
        if k.eq_ignore_ascii_case("content-type") {
            h[0].1 = v.clone();
        } else {
            h.push((k.clone(), v.clone()));
        }
    }
    h.extend([
        ("X-Fluent-Signature".to_string(), sig.clone()),
        ("X-FluentCRM-Signature".to_string(), sig),
        ("X-FluentCRM-Event".to_string(), event.to_string()),
        (
            "X-FluentCRM-Webhook-ID".to_string(),
            endpoint.id.to_string(),
        ),
        ("X-FluentCRM-Delivery".to_string(), delivery_id.to_string()),
        ("webhook-id".to_string(), delivery_id.to_string()),
        ("webhook-timestamp".to_string(), timestamp.to_string()),
        (
            "webhook-signature".to_string(),
            secret::standard_webhooks_sign(
                &endpoint.secret,
                delivery_id,
                timestamp,
                body.as_bytes(),
            ),
        ),
    ]);
    h
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
    use crate::domain::format::Destination;
    use crate::domain::outgoing::Ordering;

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
            events: vec![crate::domain::events::EventPattern::all()],
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            headers: BTreeMap::from([("X-API-Key".to_string(), "k".to_string())]),
            retry_count: 3,
            created_at: String::new(),
            updated_at: String::new(),
            revision: 0,
            ordering: Ordering::None,
            destination: Destination::default(),
            filter: None,
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
        let logged = loggable_headers(&h, &cfg);
        assert_eq!(logged["X-API-Key"], "[redacted]");
        assert_eq!(logged["webhook-signature"], "[redacted]");
        assert_eq!(logged["X-FluentCRM-Event"], "feed.created");
    }
}
