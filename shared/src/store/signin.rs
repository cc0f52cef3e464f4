//! Failed sign-ins per source and user name: `pk = SIGNIN#{source}#{name hash}`, `sk = SIGNIN`, with `failures`,
//! `last_failure_at` and a TTL (`expires_at`). Shared by every Lambda instance; counted with
//! atomic `ADD` under conditions, never read-then-write.

use serde::Deserialize;

use super::keys;
use super::{from_item, n, repository};
use crate::aws::OrUnavailable;
use crate::domain::auth::FAILURE_MEMORY_SECONDS;
use crate::error::Result;

/// What the store knows about a source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct SigninFailures {
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub last_failure_at: i64,
    #[serde(default)]
    pub expires_at: i64,
}

repository!(
    /// Failed sign-ins, counted per source.
    SigninRepo
);

impl SigninRepo {
    /// The live failure record of a source (an expired one that TTL has not removed yet counts
    /// as none).
    pub async fn failures(&self, source: &str, now: i64) -> Result<SigninFailures> {
        let found = self
            .table
            .get(&keys::signin(source), keys::SIGNIN_SK)
            .await?
            .map(from_item::<SigninFailures>)
            .transpose()?
            .unwrap_or_default();
        Ok(if found.expires_at > now {
            found
        } else {
            SigninFailures::default()
        })
    }

    /// Counts one failure and returns the new record. A live record is incremented; a missing
    /// or expired one restarts at 1 (two conditional updates; a lost race retries).
    pub async fn failed(&self, source: &str, now: i64) -> Result<SigninFailures> {
        let pk = keys::signin(source);
        let values = || {
            vec![
                (":one", n(1)),
                (":now", n(now)),
                (":exp", n(now + FAILURE_MEMORY_SECONDS)),
            ]
        };
        // The live record first, then a fresh one.
        let attempts = [
            (
                "ADD failures :one SET last_failure_at = :now, expires_at = :exp",
                "attribute_exists(pk) AND expires_at > :now",
            ),
            (
                "SET failures = :one, last_failure_at = :now, expires_at = :exp",
                "attribute_not_exists(pk) OR expires_at <= :now",
            ),
        ];
        for _ in 0..4 {
            for (expression, condition) in attempts {
                let updated = self
                    .table
                    .update_if(&pk, keys::SIGNIN_SK, expression, condition, &[], values())
                    .await?;
                if let Some(item) = updated {
                    return from_item(item);
                }
            }
        }
        Err(crate::error::Error::dep(
            "sign-in failure count kept conflicting",
        ))
    }

    /// A successful sign-in forgets that name's failures from that source.
    pub async fn succeeded(&self, source: &str) -> Result<()> {
        self.table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .set_key(Some(super::key(keys::signin(source), keys::SIGNIN_SK)))
            .send()
            .await
            .or_unavailable("DeleteItem")?;
        Ok(())
    }
}
