//! Members: lookups for the admin API, and timed access — the sweeper ends grants whose time
//! is up, found through the expiry index.

use super::Outbox;
use crate::domain::incoming::limits::MAX_CHANGES;
use crate::domain::incoming::plan::{self, Op};
use crate::domain::member::Member;
use crate::domain::membership::MemberState;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::{Error, Result};
use crate::store::{MemberRepo, Repositories};

/// Memberships looked at per expiry index partition and sweep (16 shards and the legacy
/// partition, so at most 425 per run; the next sweep continues).
const PER_PARTITION: i32 = 25;

/// Members whose ended grants are handled at once.
const MEMBERS_AT_ONCE: usize = 8;

/// Members and their access.
#[derive(Debug)]
pub struct Members {
    members: MemberRepo,
    outbox: Outbox,
}

impl Members {
    pub(crate) fn new(repos: &Repositories, outbox: Outbox) -> Self {
        Self {
            members: repos.members.clone(),
            outbox,
        }
    }

    /// A member's profile, spaces and courses by (normalized) email.
    pub async fn by_email(&self, email: &str) -> Result<MemberState> {
        self.members.state(email).await
    }

    /// A member by id (`404` when there is none).
    pub async fn by_id(&self, id: i64) -> Result<MemberState> {
        self.members
            .by_id(id)
            .await?
            .ok_or_else(|| Error::NotFound("User not found.".into()))
    }

    pub async fn list(&self, req: &PageRequest) -> Result<Page<Member>> {
        self.members.list(req).await
    }

    /// Ends the timed access that expired before `now`: removes memberships whose every grant
    /// ended (emitting `space.member_left` / `course.unenrolled` with `reason: "expired"`) and
    /// drops ended grants from the others. Each member's changes commit conditionally on the
    /// revisions read, in transactions of at most [`MAX_CHANGES`]; a conflict (a purchase
    /// renewed it meanwhile) leaves it to the next sweep, which re-reads. Returns the number of
    /// memberships removed.
    pub async fn expire_grants(&self) -> Result<usize> {
        self.expire_grants_at(time::now()).await
    }

    /// [`Members::expire_grants`] as if it were `now` (tests move the clock forward).
    pub async fn expire_grants_at(&self, now: jiff::Timestamp) -> Result<usize> {
        use futures::{stream, StreamExt};
        let emails = self
            .members
            .expired(&time::rfc3339(now), PER_PARTITION)
            .await?;
        let results: Vec<Result<usize>> = stream::iter(&emails)
            .map(|email| self.expire_member(email, now))
            .buffer_unordered(MEMBERS_AT_ONCE)
            .collect()
            .await;
        let mut removed = 0;
        let mut first_error = None;
        for r in results {
            match r {
                Ok(n) => removed += n,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if removed > 0 {
            tracing::info!(removed, "timed access ended");
        }
        // What succeeded stays done; the next sweep retries the rest.
        match first_error {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }

    /// One member's ended grants (see [`Members::expire_grants`]); the memberships removed.
    async fn expire_member(&self, email: &str, now: jiff::Timestamp) -> Result<usize> {
        let state = self.members.state(email).await?;
        let changes = plan::expire(&state, now);
        let mut removed = 0;
        for chunk in changes.chunks(MAX_CHANGES) {
            let mut items = Vec::new();
            let mut events = Vec::new();
            let mut gone = 0;
            for (change, event) in chunk {
                let m = &change.membership;
                let item = match change.op {
                    Op::Remove { rev } => {
                        gone += 1;
                        self.members.delete_membership(m, rev)?
                    }
                    Op::Update { rev } => self.members.update_membership(m, rev)?,
                    // Expiry never adds.
                    Op::Add => continue,
                };
                items.push(((), item));
                events.extend(event.clone());
            }
            if self
                .outbox
                .commit_with_events(items, events, ())
                .await?
                .is_ok()
            {
                removed += gone;
            }
        }
        Ok(removed)
    }
}
