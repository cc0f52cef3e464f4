//! Signing in to the admin API (docs/reference/security.md): the operator's credentials or an
//! application password, behind a per-source back-off shared by every instance; and managing
//! application passwords.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::config::Config;
use crate::domain::app_password::AppPassword;
use crate::domain::auth::{
    self, app_password_id, check_app_password_name, Credentials, Principal, Scope,
};
use crate::domain::page::{Page, PageRequest};
use crate::domain::{secret, time};
use crate::error::{Error, Result};
use crate::store::app_passwords::CreateOutcome;
use crate::store::{AppPasswordRepo, Repositories, SigninRepo};

/// `last_used_at` is written at most once per this many seconds per application password.
pub const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

/// Why a request is not signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No well-formed Basic credentials (not counted as a failed sign-in).
    Missing,
    /// Wrong credentials (counted).
    Wrong,
    /// The source is backed off: try again in this many seconds (nothing was checked).
    Throttled { retry_after: i64 },
}

/// Per-instance memory of credentials already verified with argon2id: the SHA-256 of
/// `user:password` → the hash it matched (an application password must still match its stored,
/// current hash, read on every request, so a revoked one stops at once).
#[derive(Default)]
pub struct Verified(Mutex<HashMap<String, String>>);

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verified([redacted])")
    }
}

impl Verified {
    fn fingerprint(c: &Credentials) -> String {
        secret::sha256_hex(&format!("{}:{}", c.user, c.password))
    }

    /// argon2id verification (on the blocking pool), remembered on success.
    async fn verify(&self, c: &Credentials, hash: &str) -> bool {
        let fp = Self::fingerprint(c);
        if self
            .0
            .lock()
            .is_ok_and(|m| m.get(&fp).is_some_and(|h| h == hash))
        {
            return true;
        }
        let (password, phc) = (c.password.clone(), hash.to_string());
        let ok = tokio::task::spawn_blocking(move || secret::verify_password(&password, &phc))
            .await
            .unwrap_or(false);
        if ok {
            if let Ok(mut m) = self.0.lock() {
                m.insert(fp, hash.to_string());
            }
        }
        ok
    }
}

fn ct_eq(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

/// Signing in and application passwords.
#[derive(Debug)]
pub struct Access {
    app_passwords: AppPasswordRepo,
    signin: SigninRepo,
    config: Arc<Config>,
}

impl Access {
    pub(crate) fn new(repos: &Repositories, config: Arc<Config>) -> Self {
        Self {
            app_passwords: repos.app_passwords.clone(),
            signin: repos.signin.clone(),
            config,
        }
    }

    /// Signs a request in. `Err` only when a dependency failed.
    pub async fn authenticate(
        &self,
        verified: &Verified,
        credentials: Option<Credentials>,
        source: Option<IpAddr>,
    ) -> Result<std::result::Result<Principal, Refusal>> {
        let Some(c) = credentials else {
            return Ok(Err(Refusal::Missing));
        };
        let source = auth::signin_key(source, &c.user);
        let now = time::now().as_second();
        let operator = c.user == self.config.admin_user;
        let app_id = (!operator).then(|| app_password_id(&c.password)).flatten();
        let (failures, record) = tokio::join!(self.signin.failures(&source, now), async {
            match app_id {
                Some(id) => self.app_passwords.get(id).await,
                None => Ok(None),
            }
        });
        let failures = failures?;
        if let Some(wait) = auth::retry_after(failures.failures, failures.last_failure_at, now) {
            return Ok(Err(Refusal::Throttled { retry_after: wait }));
        }
        let principal = if operator {
            self.verify_operator(verified, &c)
                .await
                .then_some(Principal::Operator)
        } else {
            self.verify_app_password(verified, &c, record?, now).await?
        };
        match principal {
            Some(p) => {
                if failures.failures > 0 {
                    self.signin.succeeded(&source).await?;
                }
                Ok(Ok(p))
            }
            None => {
                let after = self.signin.failed(&source, now).await?;
                if auth::backoff_seconds(after.failures) > 0 {
                    tracing::warn!(source = %source, failures = after.failures, "admin sign-in backed off");
                }
                Ok(Err(Refusal::Wrong))
            }
        }
    }

    /// An application password: the record its id names, under the name given, matching its
    /// hash. A match records the use (at most once a minute).
    async fn verify_app_password(
        &self,
        verified: &Verified,
        c: &Credentials,
        record: Option<AppPassword>,
        now: i64,
    ) -> Result<Option<Principal>> {
        let Some(p) = record.filter(|p| p.name.eq_ignore_ascii_case(&c.user)) else {
            return Ok(None);
        };
        if !verified.verify(c, &p.hash).await {
            return Ok(None);
        }
        self.app_passwords
            .touch(p.id, now, LAST_USED_GRANULARITY_SECONDS)
            .await?;
        Ok(Some(Principal::AppPassword {
            id: p.id,
            name: p.name,
            scope: p.scope,
        }))
    }

    /// The operator: `ADMIN_USER` with `ADMIN_PASSWORD_HASH` (argon2id), else `ADMIN_PASSWORD`,
    /// else, in local mode only, `admin`.
    async fn verify_operator(&self, verified: &Verified, c: &Credentials) -> bool {
        let cfg = &self.config;
        if let Some(hash) = &cfg.admin_password_hash {
            return verified.verify(c, hash).await;
        }
        let clear = cfg
            .admin_password
            .clone()
            .or_else(|| cfg.local_mode.then(|| "admin".to_string()));
        clear.is_some_and(|p| ct_eq(&c.password, &p))
    }

    pub async fn app_password_create(
        &self,
        body: &Map<String, Value>,
    ) -> Result<(AppPassword, String)> {
        let name = match body.get("name") {
            Some(Value::String(n)) => check_app_password_name(n, &self.config.admin_user)
                .map_err(|why| Error::invalid("name", why))?,
            Some(_) => return Err(Error::invalid("name", "must be a string")),
            None => return Err(Error::invalid("name", "is required")),
        };
        let scope = match body.get("scope") {
            Some(Value::String(s)) => s
                .parse::<Scope>()
                .map_err(|_| Error::invalid("scope", "must be admin, read or publish"))?,
            None => {
                return Err(Error::invalid(
                    "scope",
                    "is required (admin, read or publish)",
                ))
            }
            Some(_) => return Err(Error::invalid("scope", "must be admin, read or publish")),
        };
        let id = self.app_passwords.next_id().await?;
        let password = auth::app_password(id, &secret::random_token());
        let clear = password.clone();
        let hash = tokio::task::spawn_blocking(move || secret::hash_password(&clear))
            .await
            .map_err(Error::dep)?
            .map_err(Error::dep)?;
        let record = AppPassword {
            id,
            name,
            scope,
            hash,
            created_at: time::now_s(),
            last_used_at: None,
            last_used_epoch: 0,
        };
        match self.app_passwords.create(&record).await? {
            CreateOutcome::Created => Ok((record, password)),
            CreateOutcome::NameTaken => Err(Error::Conflict(format!(
                "An application password named '{}' already exists.",
                record.name
            ))),
        }
    }

    pub async fn app_password_list(&self, req: &PageRequest) -> Result<Page<AppPassword>> {
        self.app_passwords.list(req).await
    }

    /// Revokes an application password at once; `false` when there was none.
    pub async fn app_password_revoke(&self, id: i64) -> Result<bool> {
        self.app_passwords.delete(id).await
    }
}
