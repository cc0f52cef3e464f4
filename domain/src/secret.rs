//! Random tokens, password hashing and keyed signatures.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use base64::Engine;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::fill(&mut b);
    b
}

/// A URL-safe key with 192 random bits (32 characters).
pub fn webhook_key() -> String {
    B64URL.encode(random_bytes::<24>())
}

/// 256 random bits, URL-safe (43 characters).
pub fn random_token() -> String {
    B64URL.encode(random_bytes::<32>())
}

/// The lookup digest of an incoming key: hex HMAC-SHA256 under the deployment key (the table
/// keeps this, never the key, as the lookup item's partition key).
pub fn incoming_key_digest(deployment_key: &str, key: &str) -> String {
    hmac_sha256_hex(deployment_key.as_bytes(), key.as_bytes())
}

/// `whsec_` + base64 of 32 random bytes (Standard Webhooks secret format).
pub fn outgoing_secret() -> String {
    format!("whsec_{}", B64.encode(random_bytes::<32>()))
}

/// A random password for members created without one (never shown anywhere).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!@#$%^&*";
    (0..24)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// argon2id with the OWASP-recommended minimum: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash_password(password: &str) -> Result<String, String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Checks a password against a PHC string; any malformed hash is a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Hex HMAC-SHA256 of `body` keyed by the UTF-8 bytes of `secret` (the seeds' `sha256=` scheme).
pub fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    hex(&hmac_raw(secret, &[body]))
}

fn hmac_raw(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time check of `sha256=<hex>` over `body` with `secret`.
pub fn verify_sha256_header(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(given) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let expected = hmac_sha256_hex(secret, body);
    subtle::ConstantTimeEq::ct_eq(
        expected.as_bytes(),
        given.trim().to_ascii_lowercase().as_bytes(),
    )
    .into()
}

/// The key Standard Webhooks signs with: the base64-decoded part after `whsec_`, or, for a
/// secret that is not in that format, its UTF-8 bytes.
pub fn standard_webhooks_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b| B64.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// `v1,<base64>` Standard Webhooks signature over `{id}.{timestamp}.{body}`.
pub fn standard_webhooks_sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = standard_webhooks_key(secret);
    let ts = timestamp.to_string();
    let sig = hmac_raw(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", B64.encode(sig))
}

/// Verifies Standard Webhooks headers (any of the space-separated `v1,` signatures), with a
/// 5-minute tolerance on the timestamp.
pub fn standard_webhooks_verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> bool {
    let Ok(ts) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    // `abs_diff` cannot overflow, whatever timestamp a caller sends.
    if now.abs_diff(ts) > 300 {
        return false;
    }
    let expected = standard_webhooks_sign(secret, id, ts, body);
    signatures
        .split_whitespace()
        .any(|s| subtle::ConstantTimeEq::ct_eq(s.as_bytes(), expected.as_bytes()).into())
}

/// SHA-256 hex of a string, used to key idempotency records without storing the raw key.
pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_and_url_safe() {
        let k = webhook_key();
        assert_eq!(k.len(), 32);
        assert!(k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(k, webhook_key());
    }

    #[test]
    fn key_digests_depend_on_the_deployment_key_and_hide_the_key() {
        let d = incoming_key_digest("deploy-1", "the-key");
        assert_eq!(d.len(), 64);
        assert!(!d.contains("the-key"));
        assert_eq!(d, incoming_key_digest("deploy-1", "the-key"));
        assert_ne!(d, incoming_key_digest("deploy-2", "the-key"));
        assert_ne!(d, incoming_key_digest("deploy-1", "other-key"));
    }

    #[test]
    fn secrets_have_whsec_prefix_and_32_bytes() {
        let s = outgoing_secret();
        assert_eq!(standard_webhooks_key(&s).len(), 32);
    }

    #[test]
    fn password_roundtrip() {
        let h = hash_password("SecurePassword123").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("SecurePassword123", &h));
        assert!(!verify_password("nope", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn sha256_header_checks() {
        let sig = format!("sha256={}", hmac_sha256_hex(b"k", b"body"));
        assert!(verify_sha256_header(b"k", b"body", &sig));
        assert!(!verify_sha256_header(b"k", b"body2", &sig));
        assert!(!verify_sha256_header(b"k", b"body", "abc"));
    }

    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        for (ts, now) in [
            (i64::MIN.to_string(), 1_700_000_000),
            (i64::MAX.to_string(), 1_700_000_000),
            (i64::MIN.to_string(), i64::MAX),
            (i64::MAX.to_string(), i64::MIN),
        ] {
            let t = ts.parse::<i64>().unwrap();
            let sig = standard_webhooks_sign(secret, "id", t, b"{}");
            assert!(!standard_webhooks_verify(
                secret, "id", &ts, &sig, b"{}", now
            ));
        }
    }

    #[test]
    fn standard_webhooks_test_vector() {
        // From the standard-webhooks reference test suite.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let sig = standard_webhooks_sign(secret, id, 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(standard_webhooks_verify(
            secret,
            id,
            "1614265330",
            &sig,
            body,
            1614265330
        ));
        assert!(!standard_webhooks_verify(
            secret,
            id,
            "1614265330",
            &sig,
            body,
            1614265330 + 301
        ));
    }
}
