//! Executing an incoming webhook (docs/reference/incoming.md).
//!
//! Round trips: the webhook (GetItem by key), the member's partition (Query) and any
//! idempotency record (GetItem) are read concurrently once this instance knows the key (the
//! first call on a key reads the webhook alone, see `known`); one TransactWriteItems then applies
//! every change with its conditions (email and login still free, memberships still in the
//! state planned, spaces and courses still existing), the run record, the counter and the
//! outbox batch. A failed condition re-plans from fresh state, so concurrent calls converge and
//! never half-apply. The same transaction records a new member's welcome email as owed; the
//! request path then claims and sends it, and the welcome sweep sends what it did not. The events
//! leave through the table's stream.

pub mod admin;
mod call;
mod known;
mod new_member;
pub mod provider;
mod silence;

use std::collections::BTreeSet;
use std::sync::Arc;

pub(crate) use self::call::Execution;
use self::call::{admitted, form_email};
pub use self::call::{Call, ErrorKind, Executed};
use self::new_member::NewMember;
pub use self::new_member::{MAX_WELCOME_SENDS, WELCOME_PER_SWEEP, WELCOME_RETRY_SECONDS};
pub use self::silence::SilenceSweep;
use super::limiter::RateLimiter;
use super::Outbox;
use crate::config::Config;
use crate::domain::incoming::plan::{self, Intent};
use crate::domain::incoming::providers::Source;
use crate::domain::incoming::run::{Run, RunOutcome};
use crate::domain::incoming::IncomingWebhook;
use crate::domain::member;
use crate::domain::membership::{Kind, MemberState};
use crate::domain::page::{Page, PageRequest};
use crate::domain::{secret, time};
use crate::error::{Error, Result};
use crate::mail::Mailer;
use crate::store::execution::{conflict, Conflict, Tag};
use crate::store::incoming::StoredResponse;
use crate::store::{
    CatalogRepo, ExecutionRepo, IncomingRepo, MemberRepo, ProviderRepo, Repositories, RunRepo,
    SilenceRepo, WelcomeRepo,
};

const MAX_ATTEMPTS: usize = 8;

/// Incoming webhooks: executing calls, managing the webhooks, the welcome email (sent after the
/// commit, owed in it, swept when the request path did not send it).
#[derive(Debug)]
pub struct Incoming {
    webhooks: IncomingRepo,
    /// The activity log.
    runs: RunRepo,
    members: MemberRepo,
    catalog: CatalogRepo,
    providers: ProviderRepo,
    /// A plan's writes, from every repository it touches.
    execution: ExecutionRepo,
    /// The silence index and open alerts (docs/reference/incoming.md#silence-alerts).
    silence: SilenceRepo,
    /// Welcome-email markers (owed, sending, sent).
    welcome: WelcomeRepo,
    outbox: Outbox,
    /// The welcome email.
    mailer: Mailer,
    limiter: RateLimiter,
    /// How many refused calls per webhook and minute this instance writes to the activity log
    /// ([`REFUSED_LOG_BUDGET_PER_MINUTE`]); beyond it they are only counted.
    log_budget: RateLimiter,
    /// Refused calls beyond the log budget since the cold start.
    unlogged: Arc<std::sync::atomic::AtomicU64>,
    /// Keys a webhook was found for in this instance: their reads go in one round trip.
    known: known::KnownKeys,
    config: Arc<Config>,
}

/// Refused calls per webhook and minute that a warm instance logs
/// (docs/reference/security.md#refused-calls-are-cheap "Junk is cheap"): a flood of bad calls on a
/// known key costs at most this many log writes a minute.
pub const REFUSED_LOG_BUDGET_PER_MINUTE: u32 = 60;

impl Incoming {
    pub(crate) fn new(
        repos: &Repositories,
        outbox: Outbox,
        mailer: Mailer,
        limiter: RateLimiter,
        config: Arc<Config>,
    ) -> Self {
        Self {
            webhooks: repos.incoming.clone(),
            runs: repos.runs.clone(),
            members: repos.members.clone(),
            catalog: repos.catalog.clone(),
            providers: repos.providers.clone(),
            execution: repos.execution.clone(),
            silence: repos.silence.clone(),
            welcome: repos.welcome.clone(),
            outbox,
            mailer,
            limiter,
            log_budget: RateLimiter::new(REFUSED_LOG_BUDGET_PER_MINUTE),
            unlogged: Arc::default(),
            known: known::KnownKeys::default(),
            config,
        }
    }

    /// Loads the deployment key of incoming-key digests at a cold start, so no call pays for it
    /// (a failure is logged; the first call then reads it with its lookup).
    pub async fn warm(&self) {
        if let Err(error) = self.webhooks.warm().await {
            tracing::warn!(%error, "deployment key not loaded; the first call reads it");
        }
    }

    pub async fn list(&self, req: &PageRequest) -> Result<Page<IncomingWebhook>> {
        self.webhooks.list(req).await
    }

    /// An incoming webhook's activity log, newest first (`404` for an unknown webhook).
    pub async fn runs(&self, id: i64, req: &PageRequest) -> Result<Page<Run>> {
        self.get(id).await?;
        self.runs.list(id, req).await
    }

    /// Executes one call; every outcome, success or not, is an [`Executed`] or an [`Error`]
    /// rendered in the incoming shape.
    pub async fn execute(&self, call: Call) -> Result<Executed> {
        let email = call.payload.email().and_then(member::normalize_email);
        let key_hash = call
            .idempotency_key
            .as_deref()
            .map(|k| secret::sha256_hex(&format!("{}\n{}", call.key, k)));
        let reads = self
            .read_call(&call.key, email.as_deref(), key_hash.as_deref())
            .await;
        let webhook = reads.webhook?.ok_or_else(|| {
            Error::NotFound("Invalid webhook URL: no webhook has this key.".into())
        })?;
        // Runs record the address as given when it is not valid (lower-cased, bounded).
        let email_ref = email.clone().or_else(|| {
            call.payload
                .email()
                .map(|e| crate::domain::incoming::truncate(&e.trim().to_lowercase(), 254))
        });
        let fail = |status: Error| async {
            self.record_failure(&webhook, &call, email_ref.as_deref(), &status)
                .await;
            Err::<Executed, Error>(status)
        };
        if let Err(refused) = admitted(&webhook, &call) {
            return fail(refused).await;
        }
        if webhook.source != Source::Form {
            return match self.execute_provider(&webhook, &call).await {
                Ok(done) => Ok(done),
                Err(e) => fail(e).await,
            };
        }
        let email = match form_email(&webhook, &call, email) {
            Ok(email) => email,
            Err(refused) => return fail(refused).await,
        };
        if let Some(r) = reads.stored? {
            return Ok(self.replayed(r).await);
        }
        if !self.limiter.allow(webhook.id, time::now().as_second()) {
            return fail(Error::RateLimited).await;
        }
        let state = reads.state?.unwrap_or_default();
        let x = Execution {
            webhook: &webhook,
            payload: &call.payload,
            email: &email,
            source_ip: call.source_ip,
            key_hash: key_hash.as_deref(),
            event: None,
            objects: vec![],
        };
        match self.apply(&x, Intent::Form, state).await {
            Ok(done) => Ok(done),
            Err(e) => fail(e).await,
        }
    }

    /// The webhook, the member's partition and any idempotency record. On a key this instance
    /// found a webhook for, all three at once (one round trip); on any other key the webhook
    /// first — an unknown key costs that one read and nothing else — then the other two.
    async fn read_call(&self, key: &str, email: Option<&str>, key_hash: Option<&str>) -> Reads {
        if self.known.contains(key) {
            let (webhook, rest) =
                tokio::join!(self.webhooks.by_key(key), self.read_member(email, key_hash));
            if !matches!(webhook, Ok(Some(_))) {
                self.known.forget(key);
            }
            let (state, stored) = rest;
            return Reads {
                webhook,
                state,
                stored,
            };
        }
        let webhook = self.webhooks.by_key(key).await;
        if !matches!(webhook, Ok(Some(_))) {
            return Reads {
                webhook,
                state: Ok(None),
                stored: Ok(None),
            };
        }
        self.known.insert(key);
        let (state, stored) = self.read_member(email, key_hash).await;
        Reads {
            webhook,
            state,
            stored,
        }
    }

    /// The member's partition and any idempotency record, read concurrently.
    async fn read_member(
        &self,
        email: Option<&str>,
        key_hash: Option<&str>,
    ) -> (Result<Option<MemberState>>, Result<Option<StoredResponse>>) {
        tokio::join!(
            async {
                match email {
                    Some(e) => self.members.state(e).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                match key_hash {
                    Some(h) => self.webhooks.stored_response(h).await,
                    None => Ok(None),
                }
            }
        )
    }

    /// Plans and commits, re-reading and re-planning while conditions fail.
    pub(crate) async fn apply(
        &self,
        x: &Execution<'_>,
        intent: Intent,
        mut state: MemberState,
    ) -> Result<Executed> {
        let mut new_member: Option<NewMember> = None;
        let mut missing: BTreeSet<(Kind, i64)> = BTreeSet::new();
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt as u64)).await;
            }
            let failed = match self
                .plan_and_commit(x, &intent, &state, &missing, &mut new_member)
                .await?
            {
                Ok(done) => return Ok(done),
                Err(failed) => failed,
            };
            if failed.contains(&Tag::Object) {
                return Err(Error::Dependency(
                    "a concurrent event changed the same provider object; retry".into(),
                ));
            }
            match conflict(&failed) {
                Conflict::Replay => {
                    if let Some(h) = x.key_hash {
                        if let Some(r) = self.webhooks.stored_response(h).await? {
                            return Ok(self.replayed(r).await);
                        }
                    }
                    state = self.members.state(x.email).await?;
                }
                Conflict::WebhookGone => {
                    return Err(Error::NotFound(
                        "Invalid webhook URL: no webhook has this key.".into(),
                    ))
                }
                Conflict::Retry {
                    refresh,
                    missing: gone,
                    next_login,
                } => {
                    missing.extend(gone);
                    if let (true, Some(n)) = (next_login, new_member.as_mut()) {
                        n.login_index += 1;
                    }
                    if refresh {
                        state = self.members.state(x.email).await?;
                    }
                }
            }
        }
        Err(Error::Dependency(
            "the execution kept conflicting with concurrent changes".into(),
        ))
    }

    /// One plan and commit; `Err(tags)` when conditions failed.
    async fn plan_and_commit(
        &self,
        x: &Execution<'_>,
        intent: &Intent,
        state: &MemberState,
        missing: &BTreeSet<(Kind, i64)>,
        new_member: &mut Option<NewMember>,
    ) -> Result<std::result::Result<Executed, Vec<Tag>>> {
        let creating = state.member.is_none() && !matches!(intent, Intent::Revoke { .. });
        if creating && new_member.is_none() {
            *new_member = Some(self.prepare_member(x.webhook, x.payload, x.email).await?);
        }
        if !creating {
            *new_member = None;
        }
        let candidate = new_member.as_mut().map(|n| n.current(x.email));
        let req = plan::Request {
            webhook: x.webhook,
            email: x.email,
            intent: intent.clone(),
            courses_enabled: self.config.course_module_enabled,
            source_ip: x.source_ip.map(|ip| ip.to_string()),
            event: x.event.clone(),
            now: time::now_s(),
        };
        let st = plan::State {
            member: state,
            candidate: candidate.as_ref(),
            missing,
        };
        let plan = plan::plan(st, &req)
            .map_err(|_| Error::Locked("The member could not be resolved.".into()))?;
        let stored = StoredResponse {
            status: 200,
            body: plan.response.body(),
            expires_at: req.now.as_second() + 86_400,
        };
        let idem = x.key_hash.map(|h| (h, &stored));
        let hash = new_member.as_ref().map(|n| n.password_hash.as_str());
        let mut items =
            self.execution
                .plan_items(&plan, x.webhook.expect_every_hours, hash, idem)?;
        for (object, prev) in &x.objects {
            items.push((
                Tag::Object,
                self.providers
                    .put_object_state(x.webhook.id, object, *prev)?,
            ));
        }
        // The welcome email is owed in the same transaction as the member it welcomes.
        let welcome = plan.created && x.webhook.send_wp_welcome_email;
        if welcome {
            items.push((
                Tag::Other,
                self.welcome.put_owed(
                    plan.member.user_id,
                    x.email,
                    req.now.as_second(),
                    WELCOME_RETRY_SECONDS,
                )?,
            ));
        }
        if let Err(failed) = self
            .outbox
            .commit_with_events(items, plan.events.clone(), Tag::Other)
            .await?
        {
            return Ok(Err(failed));
        }
        let mut response = plan.response;
        if welcome {
            response.welcome_email = self.send_owed_welcome(&plan.member).await;
        }
        observe(RunOutcome::Success, x.webhook.source);
        tracing::info!(
            webhook_id = x.webhook.id,
            user_id = plan.member.user_id,
            created = plan.created,
            "incoming webhook executed"
        );
        Ok(Ok(Executed::Applied(response)))
    }

    /// Records a refused call in the activity log.
    async fn record_failure(
        &self,
        webhook: &IncomingWebhook,
        call: &Call,
        email: Option<&str>,
        error: &Error,
    ) {
        if !self.log_budget.allow(webhook.id, time::now().as_second()) {
            let n = self
                .unlogged
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    webhook_id = webhook.id,
                    unlogged = n,
                    "refused calls over the log budget are counted, not logged"
                );
            }
            return;
        }
        let mut run = Run::new(
            webhook.id,
            time::now(),
            RunOutcome::Failed,
            error.status().as_u16(),
        );
        run.email = email.map(str::to_string);
        run.source_ip = call.source_ip.map(|ip| ip.to_string());
        run.error = Some(error.to_string());
        observe(RunOutcome::Failed, webhook.source);
        self.runs.record(&run).await;
    }
}

/// Counts one execution (a run of the activity log) in the metrics.
fn observe(outcome: RunOutcome, source: Source) {
    crate::metrics::Observation::Execution {
        source: source.into(),
        outcome: outcome.name(),
    }
    .emit();
}

/// What [`Incoming::execute`] reads first; each read's error counts only where the call needs it.
struct Reads {
    webhook: Result<Option<IncomingWebhook>>,
    state: Result<Option<MemberState>>,
    stored: Result<Option<StoredResponse>>,
}
