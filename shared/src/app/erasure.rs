//! Erasure (docs/reference/security.md#gdpr-and-erasure): `DELETE /admin/users/{id}` erases a
//! member, as a job on the event queue like recover (`JobMessage::Erase`), in bounded steps that
//! save their progress.
//!
//! Phases ([`Phase`]): the member's items — customer maps (found through their references in
//! the member's partition), the provider object states their grants name, memberships, then the
//! profile (the email claim) and login claim in one transaction with `user.deleted`; then every
//! incoming webhook's runs and every endpoint's deliveries, Queried one page at a time up to the
//! job's start (never Scanned), redacting the rows that name the member. Every write is
//! idempotent, so a step killed mid-way is redone by the queue's redelivery (or a repeated
//! `DELETE`, which finds the member's job through its claim) and ends in the same state.

use serde_json::json;

use super::deliveries::jobs::JobMessage;
use super::Outbox;
use crate::domain::erasure::{self, Cursor, ErasureJob, JobStatus, Phase};
use crate::domain::events::{names, Event};
use crate::domain::membership::Kind;
use crate::domain::time;
use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::store::{
    DeliveryRepo, ErasureRepo, IncomingRepo, MemberRepo, OutgoingRepo, ProviderRepo, Repositories,
    RunRepo, Walk,
};

/// Rows read per page, and pages (or the member's items) per step.
const PAGE: i32 = 25;
const UNITS_PER_STEP: usize = 4;

/// Erasing members.
#[derive(Clone, Debug)]
pub struct Erasure {
    members: MemberRepo,
    providers: ProviderRepo,
    incoming: IncomingRepo,
    runs: RunRepo,
    outgoing: OutgoingRepo,
    deliveries: DeliveryRepo,
    jobs: ErasureRepo,
    /// `user.deleted` commits with the profile's deletion.
    outbox: Outbox,
    /// The job's next step.
    queue: Queue,
}

impl Erasure {
    pub(crate) fn new(repos: &Repositories, queue: Queue, outbox: Outbox) -> Self {
        Self {
            members: repos.members.clone(),
            providers: repos.providers.clone(),
            incoming: repos.incoming.clone(),
            runs: repos.runs.clone(),
            outgoing: repos.outgoing.clone(),
            deliveries: repos.deliveries.clone(),
            jobs: repos.erasures.clone(),
            outbox,
            queue,
        }
    }

    /// `DELETE /admin/users/{id}`: starts the member's erasure (or continues the one started
    /// before) and runs its first step within the request. `404` for an unknown member.
    pub async fn start(&self, user_id: i64) -> Result<ErasureJob> {
        if let Some(job) = self.jobs.of_user(user_id).await? {
            return self.run_inline(job).await;
        }
        let state = self
            .members
            .by_id(user_id)
            .await?
            .ok_or_else(|| Error::NotFound("User not found.".into()))?;
        let Some(member) = &state.member else {
            return Err(Error::NotFound("User not found.".into()));
        };
        let mut job = ErasureJob::new(user_id, &member.email, time::now());
        // What the member phase erases, counted once (a redone step finds less).
        job.counts.memberships = Kind::ALL.iter().map(|k| state.of(*k).len() as u64).sum();
        job.counts.customer_maps = self.providers.customers_of(&member.email).await?.len() as u64;
        job.counts.object_states = granted_objects(&state).len() as u64;
        if !self.jobs.create(&job).await? {
            // A concurrent DELETE started it first.
            job = self
                .jobs
                .of_user(user_id)
                .await?
                .ok_or_else(|| Error::Conflict("Please retry.".into()))?;
        }
        self.run_inline(job).await
    }

    /// `GET /admin/users/erasures/{id}`.
    pub async fn get(&self, erasure_id: &str) -> Result<ErasureJob> {
        self.jobs
            .get(erasure_id)
            .await?
            .ok_or_else(|| Error::NotFound("Erasure not found.".into()))
    }

    /// One step within the request; when it fails, the queue carries the job on (and when
    /// that fails too, the caller's retry of the `DELETE` continues it).
    async fn run_inline(&self, job: ErasureJob) -> Result<ErasureJob> {
        if job.status == JobStatus::Done {
            return Ok(job);
        }
        match self.step(&job.erasure_id).await {
            Ok(Some(j)) => Ok(j),
            Ok(None) => self.get(&job.erasure_id).await,
            Err(e) => {
                tracing::warn!(error = %e, erasure_id = %job.erasure_id, "erasure step failed; the queue continues it");
                self.send_step(&job.erasure_id).await?;
                Ok(job)
            }
        }
    }

    async fn send_step(&self, erasure_id: &str) -> Result<()> {
        let message = JobMessage::Erase {
            erasure_id: erasure_id.to_string(),
        };
        let body = serde_json::to_string(&message).map_err(Error::dep)?;
        self.queue.send_slow(body, 0).await
    }

    /// One step of a job (a queue message): a few units of work, each saved, then the next
    /// step is queued unless the job is done. Returns the job as saved (`None`: no such job,
    /// or a duplicate message advanced it first).
    pub(crate) async fn step(&self, erasure_id: &str) -> Result<Option<ErasureJob>> {
        let Some(mut job) = self.jobs.get(erasure_id).await? else {
            return Ok(None);
        };
        for _ in 0..UNITS_PER_STEP {
            if job.status == JobStatus::Done {
                return Ok(Some(job));
            }
            let prev = job.steps;
            self.unit(&mut job).await?;
            job.steps += 1;
            job.updated_at = time::now_s();
            if !self.jobs.save(&job, prev).await? {
                return Ok(None); // a duplicate message advanced it first
            }
        }
        if job.status != JobStatus::Done {
            self.send_step(erasure_id).await?;
        }
        Ok(Some(job))
    }

    /// One bounded unit of the job's current phase.
    async fn unit(&self, job: &mut ErasureJob) -> Result<()> {
        let Some(email) = job.email.clone() else {
            job.next_phase();
            return Ok(());
        };
        match job.phase {
            Phase::Member => {
                self.erase_member(job.user_id, &email).await?;
                job.next_phase();
            }
            Phase::Runs | Phase::Deliveries => self.redact_page(job, &email).await?,
            Phase::Done => {}
        }
        Ok(())
    }

    /// The member's items, in an order a redone step can follow: what is found through the
    /// memberships before the memberships, the profile (and `user.deleted`) last.
    async fn erase_member(&self, user_id: i64, email: &str) -> Result<()> {
        let state = self.members.state(email).await?;
        for r in self.providers.customers_of(email).await? {
            self.providers.forget_customer(email, &r).await?;
        }
        self.providers
            .forget_objects(&granted_objects(&state))
            .await?;
        let memberships: Vec<_> = Kind::ALL
            .iter()
            .flat_map(|k| state.of(*k).values().cloned())
            .collect();
        self.members.delete_memberships(&memberships).await?;
        let Some(member) = state.member.filter(|m| m.user_id == user_id) else {
            return Ok(()); // deleted by an earlier attempt, with its event
        };
        let items = self
            .members
            .erase_profile(&member)?
            .into_iter()
            .map(|i| ((), i))
            .collect();
        let event = Event::new(
            names::USER_DELETED,
            json!({ "user_id": user_id }),
            None,
            None,
        );
        if self
            .outbox
            .commit_with_events(items, vec![event], ())
            .await?
            .is_err()
        {
            tracing::info!(user_id, "profile already erased");
        }
        Ok(())
    }

    /// One page of one incoming webhook's runs or one endpoint's deliveries, then the cursor
    /// moves on: the next page, the next webhook / endpoint, or the next phase.
    async fn redact_page(&self, job: &mut ErasureJob, email: &str) -> Result<()> {
        let owner = match job.cursor.owner {
            Some(owner) => Some(owner),
            None => self.owner_after(job.phase, None).await?,
        };
        let Some(owner) = owner else {
            job.next_phase();
            return Ok(());
        };
        let walk = Walk {
            after: job.cursor.after.clone(),
            until: job.until.clone(),
            limit: PAGE,
        };
        let (last, more) = match job.phase {
            Phase::Runs => self.redact_runs(job, owner, &walk, email).await?,
            _ => self.redact_deliveries(job, owner, &walk, email).await?,
        };
        job.cursor = match (more, last) {
            (true, Some(last)) => Cursor {
                owner: Some(owner),
                after: Some(last),
            },
            _ => match self.owner_after(job.phase, Some(owner)).await? {
                Some(next) => Cursor {
                    owner: Some(next),
                    after: None,
                },
                None => {
                    job.next_phase();
                    return Ok(());
                }
            },
        };
        Ok(())
    }

    /// The next incoming webhook (runs) or endpoint (deliveries) after `after`.
    async fn owner_after(&self, phase: Phase, after: Option<i64>) -> Result<Option<i64>> {
        match phase {
            Phase::Runs => self.incoming.id_after(after).await,
            _ => self.outgoing.id_after(after).await,
        }
    }

    /// Redacts the runs of one page that name the member; returns the last run id and whether
    /// more follow.
    async fn redact_runs(
        &self,
        job: &mut ErasureJob,
        webhook_id: i64,
        walk: &Walk,
        email: &str,
    ) -> Result<(Option<String>, bool)> {
        let (runs, more) = self.runs.walk(webhook_id, walk).await?;
        for (run, erased_by) in &runs {
            if erased_by.as_deref() == Some(job.erasure_id.as_str()) {
                job.counts.runs_redacted += 1; // an earlier attempt of this page
            } else if let Some(redacted) = erasure::redact_run(run, job.user_id, email) {
                self.runs.replace(&redacted, &job.erasure_id).await?;
                job.counts.runs_redacted += 1;
            }
        }
        Ok((runs.last().map(|(r, _)| r.id.clone()), more))
    }

    /// Redacts the deliveries of one page that name the member; returns the last delivery id
    /// and whether more follow.
    async fn redact_deliveries(
        &self,
        job: &mut ErasureJob,
        endpoint_id: i64,
        walk: &Walk,
        email: &str,
    ) -> Result<(Option<String>, bool)> {
        let (ds, more) = self.deliveries.walk(endpoint_id, walk).await?;
        for (d, erased_by) in &ds {
            if erased_by.as_deref() == Some(job.erasure_id.as_str()) {
                job.counts.deliveries_redacted += 1;
            } else if let Some(redacted) = erasure::redact_delivery(d, job.user_id, email) {
                if !self.deliveries.replace(&redacted, &job.erasure_id).await? {
                    return Err(Error::Dependency(
                        "a delivery was attempted while it was being erased; retry".into(),
                    ));
                }
                job.counts.deliveries_redacted += 1;
            }
        }
        Ok((ds.last().map(|(d, _)| d.id.clone()), more))
    }
}

/// The provider objects whose grants gave the member access, per incoming webhook.
fn granted_objects(state: &crate::domain::membership::MemberState) -> Vec<(i64, String)> {
    let mut objects: Vec<(i64, String)> = Kind::ALL
        .iter()
        .flat_map(|k| state.of(*k).values())
        .flat_map(|m| m.grants.iter())
        .filter_map(|g| Some((g.incoming_webhook_id?, &g.objects)))
        .flat_map(|(w, os)| os.iter().map(move |o| (w, o.clone())))
        .collect();
    objects.sort();
    objects.dedup();
    objects
}
