//! One execution's [`Plan`] as one DynamoDB transaction, and what a failed condition means.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::incoming::StoredResponse;
use super::keys::Kind;
use super::{CatalogRepo, IncomingRepo, MemberRepo, RunRepo, Table};
use crate::domain::incoming::plan::{Op, Plan};
use crate::error::Result;

/// What each write's condition protects, so a cancelled transaction says what moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    Profile,
    Login,
    Membership,
    Exists(Kind, i64),
    Webhook,
    Idempotency,
    /// A provider object's last applied event.
    Object,
    Other,
}

/// What the service does after a cancelled commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// Another call with the same idempotency key committed first: answer with its response.
    Replay,
    /// The webhook was deleted (or its key rotated) meanwhile.
    WebhookGone,
    /// Try again: `refresh` re-reads the member, `missing` are spaces/courses now known gone,
    /// `next_login` moves to the next login candidate.
    Retry {
        refresh: bool,
        missing: Vec<(Kind, i64)>,
        next_login: bool,
    },
}

/// Reads the failed tags of a cancelled transaction (empty: a concurrent transaction).
pub fn conflict(failed: &[Tag]) -> Conflict {
    if failed.contains(&Tag::Idempotency) {
        return Conflict::Replay;
    }
    if failed.contains(&Tag::Webhook) {
        return Conflict::WebhookGone;
    }
    let missing: Vec<(Kind, i64)> = failed
        .iter()
        .filter_map(|t| match t {
            Tag::Exists(kind, id) => Some((*kind, *id)),
            _ => None,
        })
        .collect();
    let refresh = failed.is_empty()
        || !missing.is_empty()
        || failed
            .iter()
            .any(|t| matches!(t, Tag::Profile | Tag::Membership | Tag::Object));
    Conflict::Retry {
        refresh,
        next_login: failed.contains(&Tag::Login) && !failed.contains(&Tag::Profile),
        missing,
    }
}

/// Turns a plan into its writes: the items of members, memberships, the webhook's run counters
/// and stored response, each from its own repository.
#[derive(Clone, Debug)]
pub struct ExecutionRepo {
    members: MemberRepo,
    catalog: CatalogRepo,
    incoming: IncomingRepo,
    runs: RunRepo,
}

impl ExecutionRepo {
    pub fn new(table: Table, vault: crate::vault::Vault, retention: super::Retention) -> Self {
        Self {
            members: MemberRepo::new(table.clone()),
            catalog: CatalogRepo::new(table.clone()),
            incoming: IncomingRepo::new(table.clone(), vault),
            runs: RunRepo::new(table, retention),
        }
    }

    /// The writes of a plan, each tagged. `password_hash` is given when the plan creates the
    /// member; `idempotency` stores the response under the caller's key; `expect_every_hours`
    /// moves the webhook's silence due time on the counter update it already makes.
    pub fn plan_items(
        &self,
        plan: &Plan,
        expect_every_hours: Option<u16>,
        password_hash: Option<&str>,
        idempotency: Option<(&str, &StoredResponse)>,
    ) -> Result<Vec<(Tag, TransactWriteItem)>> {
        let mut items = Vec::new();
        if let (true, Some(hash)) = (plan.created, password_hash) {
            items.push((Tag::Profile, self.members.put_profile(&plan.member, hash)?));
            items.push((Tag::Login, self.members.put_login_claim(&plan.member)?));
        }
        for change in &plan.changes {
            let m = &change.membership;
            let exists = || self.catalog.check_exists(m.kind, m.id);
            match change.op {
                Op::Remove { rev } => {
                    items.push((Tag::Membership, self.members.delete_membership(m, rev)?));
                    items.push((Tag::Exists(m.kind, m.id), exists()?));
                }
                Op::Add => {
                    items.push((Tag::Membership, self.members.put_membership(m)?));
                    items.push((Tag::Exists(m.kind, m.id), exists()?));
                }
                Op::Update { rev } => {
                    items.push((Tag::Membership, self.members.update_membership(m, rev)?));
                }
            }
        }
        items.push((
            Tag::Webhook,
            self.incoming
                .count_run(plan.run.webhook_id, plan.run.time, expect_every_hours)?,
        ));
        items.push((Tag::Other, self.runs.put(&plan.run)?));
        if let Some((hash, stored)) = idempotency {
            items.push((
                Tag::Idempotency,
                self.incoming.put_stored_response(hash, stored)?,
            ));
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts() {
        assert_eq!(conflict(&[Tag::Idempotency, Tag::Login]), Conflict::Replay);
        assert_eq!(conflict(&[Tag::Webhook]), Conflict::WebhookGone);
        assert_eq!(
            conflict(&[Tag::Login]),
            Conflict::Retry {
                refresh: false,
                missing: vec![],
                next_login: true
            }
        );
        assert_eq!(
            conflict(&[Tag::Exists(Kind::Space, 3)]),
            Conflict::Retry {
                refresh: true,
                missing: vec![(Kind::Space, 3)],
                next_login: false
            }
        );
        assert!(matches!(
            conflict(&[]),
            Conflict::Retry { refresh: true, .. }
        ));
    }
}
