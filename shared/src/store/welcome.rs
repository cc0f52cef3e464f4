//! Welcome-email markers (docs/reference/incoming.md#the-welcome-email): one item per member a
//! call created with the welcome email requested, `WELCOME#{user_id}` / `WELCOME`, written in the
//! execution's transaction. While the email is owed the marker is on the sparse `gsi2` index
//! (`WELCOME` / `{due epoch seconds:012}#{user_id:012}`): the sweep finds markers whose claim
//! lapsed with a key condition, never a Scan. Sent (or abandoned) markers leave the index and
//! expire with their TTL.
//!
//! Every send is claimed first (a conditional update: not sent, and no claim younger than the
//! delay), so two senders never both send, and a sender that died leaves a claim that lapses.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::query::QuerySpec;
use super::{keys, n, repository, s, Item};
use crate::error::Result;

/// How long a welcome marker is kept (seconds): the TTL after its creation.
pub const WELCOME_TTL_SECONDS: i64 = 7 * 86_400;

/// A claimed marker: whom to send to and how many claims it had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub user_id: i64,
    pub email: String,
    pub attempts: u32,
}

repository!(
    /// The welcome-email markers.
    WelcomeRepo
);

fn due_sk(due: i64, user_id: i64) -> String {
    format!("{due:012}#{user_id:012}")
}

impl WelcomeRepo {
    /// The marker of a member this transaction creates: owed, due for the sweep after `delay`.
    pub fn put_owed(
        &self,
        user_id: i64,
        email: &str,
        now: i64,
        delay: i64,
    ) -> Result<TransactWriteItem> {
        let item: Item = [
            ("pk", s(keys::welcome(user_id))),
            ("sk", s(keys::WELCOME_SK)),
            ("state", s("owed")),
            ("user_id", n(user_id)),
            ("email", s(email)),
            ("attempts", n(0)),
            ("created_at", n(now)),
            ("expires_at", n(now + WELCOME_TTL_SECONDS)),
            ("gsi2pk", s(keys::WELCOME)),
            ("gsi2sk", s(due_sk(now + delay, user_id))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        self.table.put_new(item)
    }

    /// Claims the send: only if the marker exists, is not sent and not abandoned, and has no
    /// claim newer than `now - delay`. Moves it due again after `delay`. `None`: someone else
    /// holds a live claim, or it was sent.
    pub async fn claim(&self, user_id: i64, now: i64, delay: i64) -> Result<Option<Claimed>> {
        let updated = self
            .table
            .update_if(
                &keys::welcome(user_id),
                keys::WELCOME_SK,
                "SET #st = :sending, claimed_at = :now, gsi2sk = :due, attempts = attempts + :one",
                "attribute_exists(pk) AND #st IN (:owed, :sending) \
                 AND (attribute_not_exists(claimed_at) OR claimed_at <= :stale)",
                &[("#st", "state")],
                vec![
                    (":sending", s("sending")),
                    (":owed", s("owed")),
                    (":now", n(now)),
                    (":stale", n(now - delay)),
                    (":due", s(due_sk(now + delay, user_id))),
                    (":one", n(1)),
                ],
            )
            .await?;
        Ok(updated.and_then(|item| {
            Some(Claimed {
                user_id,
                email: item.get("email")?.as_s().ok()?.clone(),
                attempts: item.get("attempts")?.as_n().ok()?.parse().ok()?,
            })
        }))
    }

    /// Marks the marker `sent` (or `abandoned`) and takes it off the sweep's index.
    pub async fn settle(&self, user_id: i64, sent: bool) -> Result<()> {
        self.table
            .update_if(
                &keys::welcome(user_id),
                keys::WELCOME_SK,
                "SET #st = :st REMOVE gsi2pk, gsi2sk",
                "attribute_exists(pk)",
                &[("#st", "state")],
                vec![(":st", s(if sent { "sent" } else { "abandoned" }))],
            )
            .await?;
        Ok(())
    }

    /// The marker's state (`owed`, `sending`, `sent`, `abandoned`), `None` without one.
    pub async fn state(&self, user_id: i64) -> Result<Option<String>> {
        let item = self
            .table
            .get(&keys::welcome(user_id), keys::WELCOME_SK)
            .await?;
        Ok(item.and_then(|i| i.get("state")?.as_s().ok().cloned()))
    }

    /// Members whose welcome email is owed and whose last claim (or creation) is older than the
    /// delay, oldest first, at most `limit`.
    pub async fn due(&self, now: i64, limit: i32) -> Result<Vec<i64>> {
        let spec = QuerySpec::gsi2(keys::WELCOME).before(format!("{now:012}#~"));
        Ok(self
            .table
            .first(&spec, limit)
            .await?
            .iter()
            // The index holds keys only: the user id is in the marker's key.
            .filter_map(|item| {
                let pk = item.get("pk")?.as_s().ok()?;
                pk.strip_prefix("WELCOME#")?.parse().ok()
            })
            .collect())
    }
}
