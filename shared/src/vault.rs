//! Secrets at rest (docs/reference/security.md#secrets-at-rest): KMS envelope encryption of every
//! stored secret.
//!
//! A warm instance asks KMS once for a data key (`GenerateDataKey`, AES-256) under the secrets
//! key (`SECRETS_KEY_ID`) and seals each secret with AES-256-GCM under it. A sealed value is one
//! string that names everything needed to open it:
//!
//! ```text
//! sealed:v1:{kms key id}:{base64 wrapped data key}:{base64 nonce ‖ ciphertext ‖ tag}
//! ```
//!
//! Opening asks KMS to `Decrypt` the wrapped data key (once per wrapped key and warm instance;
//! the opened keys are cached), so values sealed under an older data key or an older KMS key
//! (rotation, a changed `SECRETS_KEY_ID`) still open. A value without the prefix is a secret
//! stored before sealing existed: it reads as it is, and its next write seals it.
//!
//! Without a key id (a unit test, a local run without KMS) the vault is *open*: values are
//! stored as they are. Deployed, the template always sets the key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use tokio::sync::OnceCell;

use crate::error::{Error, Result};

/// The prefix of a sealed value (and its format version).
pub const PREFIX: &str = "sealed:v1:";

/// Bound into every ciphertext (associated data): a value sealed by another system under the
/// same key does not open here.
const AAD: &[u8] = b"switchboard secret v1";

const NONCE_LEN: usize = 12;

/// A data key: its plaintext (never logged, never stored) and its KMS-wrapped form.
struct DataKey {
    plain: Vec<u8>,
    wrapped: Vec<u8>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

struct Kms {
    client: aws_sdk_kms::Client,
    key_id: String,
    /// This instance's data key for sealing, fetched on first use.
    current: OnceCell<DataKey>,
    /// Data keys opened by `Decrypt`, by wrapped key.
    opened: Mutex<HashMap<Vec<u8>, Arc<Vec<u8>>>>,
}

/// Seals and opens stored secrets. Cheap to clone (one per warm instance, shared).
#[derive(Clone)]
pub struct Vault {
    kms: Option<Arc<Kms>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kms {
            Some(k) => write!(f, "Vault(kms key {})", k.key_id),
            None => f.write_str("Vault(open)"),
        }
    }
}

/// The parts of a sealed value.
#[derive(Debug, PartialEq, Eq)]
pub struct Sealed<'a> {
    pub key_id: &'a str,
    pub wrapped: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl Vault {
    /// A vault sealing under `key_id` (`SECRETS_KEY_ID`); `None`: an open vault.
    pub fn new(client: aws_sdk_kms::Client, key_id: Option<String>) -> Self {
        Self {
            kms: key_id.map(|key_id| {
                Arc::new(Kms {
                    client,
                    key_id,
                    current: OnceCell::new(),
                    opened: Mutex::new(HashMap::new()),
                })
            }),
        }
    }

    /// A vault that stores values as they are (unit tests).
    pub fn open_vault() -> Self {
        Self { kms: None }
    }

    /// Whether values are sealed.
    pub fn seals(&self) -> bool {
        self.kms.is_some()
    }

    /// Seals `plain` (an already sealed value stays as it is).
    pub async fn seal(&self, plain: &str) -> Result<String> {
        let Some(kms) = &self.kms else {
            return Ok(plain.to_string());
        };
        if is_sealed(plain) {
            return Ok(plain.to_string());
        }
        let key = kms
            .current
            .get_or_try_init(|| async {
                let out = kms
                    .client
                    .generate_data_key()
                    .key_id(&kms.key_id)
                    .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
                    .send()
                    .await
                    .map_err(|e| Error::dep(format!("KMS GenerateDataKey: {e}")))?;
                let plain = out.plaintext.map(|b| b.into_inner()).unwrap_or_default();
                let wrapped = out
                    .ciphertext_blob
                    .map(|b| b.into_inner())
                    .unwrap_or_default();
                if plain.len() != 32 || wrapped.is_empty() {
                    return Err(Error::dep("KMS GenerateDataKey: no AES-256 key returned"));
                }
                Ok::<_, Error>(DataKey { plain, wrapped })
            })
            .await?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        seal_with(&key.plain, &kms.key_id, &key.wrapped, &nonce, plain)
    }

    /// Seals an optional value.
    pub async fn seal_opt(&self, plain: Option<&str>) -> Result<Option<String>> {
        match plain {
            Some(p) => self.seal(p).await.map(Some),
            None => Ok(None),
        }
    }

    /// Opens a stored value: a sealed one is decrypted, a plaintext one (stored before sealing)
    /// returned as it is.
    pub async fn open(&self, stored: &str) -> Result<String> {
        let Some(parts) = parse(stored)? else {
            return Ok(stored.to_string());
        };
        let Some(kms) = &self.kms else {
            return Err(Error::dep(
                "a sealed secret is stored but SECRETS_KEY_ID is not set",
            ));
        };
        let cached = kms
            .opened
            .lock()
            .ok()
            .and_then(|m| m.get(&parts.wrapped).cloned());
        let key = match cached {
            Some(k) => k,
            None => {
                let key = match kms.current.get() {
                    Some(dk) if dk.wrapped == parts.wrapped => Arc::new(dk.plain.clone()),
                    _ => {
                        let out = kms
                            .client
                            .decrypt()
                            .key_id(parts.key_id)
                            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(
                                parts.wrapped.clone(),
                            ))
                            .send()
                            .await
                            .map_err(|e| Error::dep(format!("KMS Decrypt: {e}")))?;
                        Arc::new(out.plaintext.map(|b| b.into_inner()).unwrap_or_default())
                    }
                };
                if let Ok(mut m) = kms.opened.lock() {
                    m.insert(parts.wrapped.clone(), key.clone());
                }
                key
            }
        };
        open_with(&key, &parts)
    }

    /// Opens an optional value.
    pub async fn open_opt(&self, stored: Option<&str>) -> Result<Option<String>> {
        match stored {
            Some(s) => self.open(s).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Whether a stored value is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Seals `plain` under an opened data key (pure: the caller supplies key and nonce).
pub fn seal_with(
    key: &[u8],
    key_id: &str,
    wrapped: &[u8],
    nonce: &[u8; NONCE_LEN],
    plain: &str,
) -> Result<String> {
    let cipher =
        Aes256Gcm::new_from_slice(key).map_err(|_| Error::dep("data key is not 256 bits"))?;
    let n = Nonce::try_from(&nonce[..]).map_err(|_| Error::dep("bad nonce length"))?;
    let ct = cipher
        .encrypt(
            &n,
            Payload {
                msg: plain.as_bytes(),
                aad: AAD,
            },
        )
        .map_err(|_| Error::dep("sealing a secret failed"))?;
    let mut body = nonce.to_vec();
    body.extend_from_slice(&ct);
    Ok(format!(
        "{PREFIX}{key_id}:{}:{}",
        B64.encode(wrapped),
        B64.encode(body)
    ))
}

/// The parts of a sealed value; `None` for a plaintext one. The key id may itself hold `:`
/// (an ARN), so the two base64 parts are taken from the right.
pub fn parse(stored: &str) -> Result<Option<Sealed<'_>>> {
    let Some(rest) = stored.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let bad = || Error::dep("a stored secret is not a valid sealed value");
    let mut it = rest.rsplitn(3, ':');
    let body = it.next().ok_or_else(bad)?;
    let wrapped = it.next().ok_or_else(bad)?;
    let key_id = it.next().filter(|k| !k.is_empty()).ok_or_else(bad)?;
    let body = B64.decode(body).map_err(|_| bad())?;
    if body.len() < NONCE_LEN + 16 {
        return Err(bad());
    }
    let (nonce, ciphertext) = body.split_at(NONCE_LEN);
    Ok(Some(Sealed {
        key_id,
        wrapped: B64.decode(wrapped).map_err(|_| bad())?,
        nonce: nonce.to_vec(),
        ciphertext: ciphertext.to_vec(),
    }))
}

/// Opens sealed parts under their opened data key (pure).
pub fn open_with(key: &[u8], parts: &Sealed<'_>) -> Result<String> {
    let cipher =
        Aes256Gcm::new_from_slice(key).map_err(|_| Error::dep("data key is not 256 bits"))?;
    let n = Nonce::try_from(&parts.nonce[..]).map_err(|_| Error::dep("bad nonce length"))?;
    let plain = cipher
        .decrypt(
            &n,
            Payload {
                msg: &parts.ciphertext,
                aad: AAD,
            },
        )
        .map_err(|_| Error::dep("a stored secret does not open under its key"))?;
    String::from_utf8(plain).map_err(|_| Error::dep("a stored secret is not text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd";

    #[test]
    fn seals_and_opens_and_names_its_key() {
        let sealed = seal_with(&KEY, ARN, b"wrapped", &[1; 12], "whsec_abc").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("whsec_abc"));
        let parts = parse(&sealed).unwrap().unwrap();
        assert_eq!(parts.key_id, ARN);
        assert_eq!(parts.wrapped, b"wrapped");
        assert_eq!(open_with(&KEY, &parts).unwrap(), "whsec_abc");
    }

    #[test]
    fn plaintext_is_not_sealed() {
        assert_eq!(parse("whsec_plain").unwrap(), None);
        assert!(!is_sealed("Bearer abc"));
    }

    #[test]
    fn a_wrong_key_or_a_changed_byte_does_not_open() {
        let sealed = seal_with(&KEY, "k", b"w", &[2; 12], "secret").unwrap();
        let parts = parse(&sealed).unwrap().unwrap();
        assert!(open_with(&[8; 32], &parts).is_err());
        let mut tampered = parse(&sealed).unwrap().unwrap();
        tampered.ciphertext[0] ^= 1;
        assert!(open_with(&KEY, &tampered).is_err());
    }

    #[test]
    fn broken_sealed_values_are_errors_not_panics() {
        for s in [
            "sealed:v1:",
            "sealed:v1:k:",
            "sealed:v1::d3JhcHBlZA==:AAAA",
            "sealed:v1:k:!!:AAAA",
            "sealed:v1:k:d3JhcHBlZA==:AAAA",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
    }

    #[tokio::test]
    async fn an_open_vault_stores_values_as_they_are() {
        let v = Vault::open_vault();
        assert_eq!(v.seal("x").await.unwrap(), "x");
        assert_eq!(v.open("x").await.unwrap(), "x");
        assert!(format!("{v:?}").contains("open"));
    }
}
