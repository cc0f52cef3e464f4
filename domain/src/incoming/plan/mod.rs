//! The change plan of one execution: pure, no I/O (docs/reference/incoming.md,
//! docs/reference/providers.md).
//!
//! [`plan`] reads the member's state as it was read from the store and decides everything the
//! execution does: the member to create, the membership changes (each with the condition that
//! protects it), the events, the run record and the response. The store turns a [`Plan`] into
//! one transaction; a failed condition means the state moved, and the service re-reads and
//! re-plans.

mod events;
mod expire;
mod outcome;
mod request;

pub use expire::expire;
pub use outcome::{Applied, Change, Op, Outcome, Plan, Unplanned};
pub use request::{Intent, Request, State};

use std::collections::BTreeSet;

use super::limits;
use super::run::{Run, RunOutcome, WelcomeEmail};
use crate::member::Member;
use crate::membership::{Grant, GrantedBy, Kind, MemberState, Membership};

/// Plans one execution (see the module documentation).
pub fn plan(state: State<'_>, req: &Request<'_>) -> Result<Plan, Unplanned> {
    let (member, created) = match (&state.member.member, state.candidate) {
        (Some(m), _) => (m.clone(), false),
        (None, Some(c)) if !matches!(req.intent, Intent::Revoke { .. }) => (c.clone(), true),
        _ => return Err(Unplanned::Unresolved),
    };
    let mut changes = Vec::new();
    let mut outcomes = [Outcome::default(), Outcome::default()];
    for (kind, out) in Kind::ALL.into_iter().zip(outcomes.iter_mut()) {
        let enabled = kind == Kind::Space || req.courses_enabled;
        *out = match &req.intent {
            Intent::Form => plan_form(state, req, kind, &member, enabled, &mut changes),
            Intent::Grant {
                spaces,
                courses,
                objects,
                expires_at,
            } => {
                let targets = if kind == Kind::Space { spaces } else { courses };
                let grant = Grant {
                    by: GrantedBy::IncomingWebhook,
                    incoming_webhook_id: Some(req.webhook.id),
                    objects: objects.clone(),
                    at: req.now,
                    expires_at: *expires_at,
                };
                plan_grant(state, kind, targets, &grant, &member, enabled, &mut changes)
            }
            Intent::Revoke { objects } if enabled => {
                plan_revoke(state.member, kind, req.webhook.id, objects, &mut changes)
            }
            Intent::Revoke { .. } => Outcome::default(),
        };
    }
    let [spaces, courses] = outcomes;
    let welcome_email = match (req.webhook.send_wp_welcome_email, created) {
        (false, _) => WelcomeEmail::NotRequested,
        (true, false) => WelcomeEmail::ExistingUser,
        (true, true) => WelcomeEmail::Sent,
    };
    let response = Applied {
        user_id: member.user_id,
        created,
        spaces,
        courses,
        welcome_email,
        execution_timestamp: req.now.as_second(),
        outcome: req.intent.label(),
    };
    let events = events::events(req, &member, created, &changes, &response);
    let mut run = Run::new(req.webhook.id, req.now, RunOutcome::Success, 200);
    run.email = Some(req.email.to_string());
    run.user_id = Some(member.user_id);
    run.created = created;
    run.spaces = response.spaces.clone();
    run.courses = response.courses.clone();
    run.welcome_email = Some(welcome_email);
    run.source_ip = req.source_ip.clone();
    run.event = req.event.clone();
    Ok(Plan {
        member,
        created,
        changes,
        events,
        run,
        response,
    })
}

fn plan_form(
    state: State<'_>,
    req: &Request<'_>,
    kind: Kind,
    member: &Member,
    enabled: bool,
    changes: &mut Vec<Change>,
) -> Outcome {
    let w = req.webhook;
    let (add, remove) = match kind {
        Kind::Space => (&w.space_ids, &w.remove_space_ids),
        Kind::Course => (&w.course_ids, &w.remove_course_ids),
    };
    if !enabled {
        return Outcome {
            skipped: add.iter().chain(remove).copied().collect(),
            ..Outcome::default()
        };
    }
    let current = state.member.of(kind);
    let missing = missing_of(state.missing, kind);
    let out = plan_memberships(add, remove, &current.keys().copied().collect(), &missing);
    for id in &out.removed {
        if let Some(m) = current.get(id) {
            changes.push(Change {
                op: Op::Remove { rev: None },
                membership: m.clone(),
            });
        }
    }
    let grant = Grant {
        by: GrantedBy::IncomingWebhook,
        incoming_webhook_id: Some(w.id),
        objects: vec![],
        at: req.now,
        expires_at: None,
    };
    for id in &out.added {
        changes.push(Change {
            op: Op::Add,
            membership: Membership::new(kind, *id, member, grant.clone()),
        });
    }
    // Already a member through someone else: nothing changes for the seeds' contract (no event,
    // not `added`), but this webhook's grant is recorded so a provider revoke cannot end it.
    for id in add
        .iter()
        .filter(|id| !remove.contains(id) && !missing.contains(id))
    {
        if let Some(update) = current.get(id).and_then(|m| with_grant(m, &grant)) {
            changes.push(update);
        }
    }
    out
}

/// The membership with `grant` added, unless the same granter already holds it for the same
/// objects.
fn with_grant(m: &Membership, grant: &Grant) -> Option<Change> {
    let mut grants = m.effective_grants();
    let same = |g: &Grant| {
        g.by == grant.by
            && g.incoming_webhook_id == grant.incoming_webhook_id
            && g.objects == grant.objects
    };
    match grants.iter().position(same) {
        // The same grant again: nothing changes, unless its timed access moved (a renewal).
        Some(i) if grants[i].expires_at == grant.expires_at => return None,
        Some(i) => grants[i].expires_at = grant.expires_at,
        None => grants.push(grant.clone()),
    }
    let mut updated = m.clone();
    updated.grants = grants;
    updated.rev = m.rev + 1;
    Some(Change {
        op: Op::Update { rev: m.rev },
        membership: updated,
    })
}

fn plan_grant(
    state: State<'_>,
    kind: Kind,
    targets: &[i64],
    grant: &Grant,
    member: &Member,
    enabled: bool,
    changes: &mut Vec<Change>,
) -> Outcome {
    let mut out = Outcome::default();
    let missing = missing_of(state.missing, kind);
    for id in targets {
        if !enabled || missing.contains(id) {
            out.skipped.push(*id);
            continue;
        }
        match state.member.of(kind).get(id) {
            None => {
                out.added.push(*id);
                changes.push(Change {
                    op: Op::Add,
                    membership: Membership::new(kind, *id, member, grant.clone()),
                });
            }
            Some(m) => changes.extend(with_grant(m, grant)),
        }
    }
    out
}

fn plan_revoke(
    state: &MemberState,
    kind: Kind,
    webhook_id: i64,
    objects: &[String],
    changes: &mut Vec<Change>,
) -> Outcome {
    let mut out = Outcome::default();
    for (id, m) in state.of(kind) {
        if changes.len() >= limits::MAX_CHANGES {
            // One transaction's worth (`limits`); more grants than that stay
            // (docs/reference/incoming.md#limits-so-one-call-always-fits-one-dynamodb-transaction).
            break;
        }
        let grants = m.effective_grants();
        let (gone, kept): (Vec<Grant>, Vec<Grant>) = grants
            .into_iter()
            .partition(|g| g.revoked_by(webhook_id, objects));
        if gone.is_empty() {
            continue;
        }
        if kept.is_empty() {
            out.removed.push(*id);
            changes.push(Change {
                op: Op::Remove { rev: Some(m.rev) },
                membership: m.clone(),
            });
        } else {
            let mut updated = m.clone();
            updated.grants = kept;
            updated.rev = m.rev + 1;
            changes.push(Change {
                op: Op::Update { rev: m.rev },
                membership: updated,
            });
        }
    }
    out
}

fn missing_of(missing: &BTreeSet<(Kind, i64)>, kind: Kind) -> BTreeSet<i64> {
    missing
        .iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, id)| *id)
        .collect()
}

/// Remove-then-add over one kind of membership. `current` are the member's ids now, `missing`
/// the ids known not to exist (they are skipped). An id in both lists ends as a membership;
/// an id already in the wanted state changes nothing.
pub fn plan_memberships(
    add: &[i64],
    remove: &[i64],
    current: &BTreeSet<i64>,
    missing: &BTreeSet<i64>,
) -> Outcome {
    let mut out = Outcome::default();
    for id in remove.iter().filter(|id| !add.contains(id)) {
        if missing.contains(id) {
            out.skipped.push(*id);
        } else if current.contains(id) {
            out.removed.push(*id);
        }
    }
    for id in add {
        if missing.contains(id) {
            out.skipped.push(*id);
        } else if !current.contains(id) {
            out.added.push(*id);
        }
    }
    out
}

#[cfg(test)]
mod tests;
