//! Erasure (docs/reference/security.md#gdpr-and-erasure): the job that erases one member, and the
//! pure rules of what a redacted run or delivery keeps. The job walks its phases in order, each
//! resumable from its cursor.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::delivery::Delivery;
use super::events::names;
use super::incoming::run::Run;
pub use super::recover::JobStatus;

/// What replaces personal data in the rows that are kept.
pub const ERASED: &str = "<erased>";

/// Where an erasure stands. The order matters: the provider objects are found through the
/// memberships' grants, so they go before the memberships, and the profile goes last of the
/// member's items (with `user.deleted`); then the logs are redacted.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Customer maps, provider object states, memberships, login claim and profile.
    Member,
    /// Incoming runs, one webhook's partition after another.
    Runs,
    /// Delivery records, one endpoint's partition after another.
    Deliveries,
    Done,
}

/// Where a log walk is: the partition (webhook or endpoint id) and the last row handled.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Cursor {
    /// The webhook / endpoint being walked (`None`: the walk has not started).
    pub owner: Option<i64>,
    /// The last row id handled in it.
    pub after: Option<String>,
}

/// What an erasure did, for `GET /admin/users/erasures/{id}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    pub memberships: u64,
    pub customer_maps: u64,
    pub object_states: u64,
    pub profile: u64,
    pub runs_redacted: u64,
    pub deliveries_redacted: u64,
}

/// One member's erasure.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ErasureJob {
    pub erasure_id: String,
    pub user_id: i64,
    /// The member's email while the job needs it (to find their partition and their rows);
    /// cleared when the job is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub status: JobStatus,
    pub phase: Phase,
    pub cursor: Cursor,
    /// Rows written after this (ULID) are not the erased member's: ids start with their time,
    /// and a member who joins again with the same email is a new member.
    pub until: String,
    pub counts: Counts,
    /// Steps saved; guards every save (a duplicate queue message saves nothing).
    pub steps: u64,
    #[serde(with = "crate::time::wire")]
    pub created_at: jiff::Timestamp,
    #[serde(with = "crate::time::wire")]
    pub updated_at: jiff::Timestamp,
}

impl ErasureJob {
    /// A new job for the member `user_id` with `email`, started at `now`.
    pub fn new(user_id: i64, email: &str, now: jiff::Timestamp) -> Self {
        let now_ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
        let now = crate::time::second(now);
        Self {
            erasure_id: super::time::new_ulid().to_string(),
            user_id,
            email: Some(email.to_string()),
            status: JobStatus::Running,
            phase: Phase::Member,
            cursor: Cursor::default(),
            until: ulid::Ulid::from_parts(now_ms, u128::MAX).to_string(),
            counts: Counts::default(),
            steps: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// Moves to the next phase (its walk from the start); after the last, the job is done and
    /// forgets the email.
    pub fn next_phase(&mut self) {
        self.phase = match self.phase {
            Phase::Member => Phase::Runs,
            Phase::Runs => Phase::Deliveries,
            Phase::Deliveries | Phase::Done => Phase::Done,
        };
        self.cursor = Cursor::default();
        if self.phase == Phase::Done {
            self.status = JobStatus::Done;
            self.email = None;
        }
    }

    /// The admin API's view: no email.
    pub fn public(&self) -> Value {
        serde_json::json!({
            "erasure_id": self.erasure_id,
            "user_id": self.user_id,
            "status": self.status,
            "phase": self.phase,
            "counts": self.counts,
            "created_at": crate::time::rfc3339(self.created_at),
            "updated_at": crate::time::rfc3339(self.updated_at),
        })
    }
}

/// Whether `text` names `email` (case-insensitive; emails are stored lower-cased).
fn mentions(text: &str, email: &str) -> bool {
    !email.is_empty() && text.to_lowercase().contains(email)
}

/// The run with the member's email, IP and messages erased, when it names the member (by
/// user id or email) and is not erased yet; ids, times, outcome, status and counts stay.
pub fn redact_run(run: &Run, user_id: i64, email: &str) -> Option<Run> {
    let names = run.user_id == Some(user_id)
        || run.email.as_deref().is_some_and(|e| mentions(e, email))
        || run.error.as_deref().is_some_and(|e| mentions(e, email))
        || run.reason.as_deref().is_some_and(|e| mentions(e, email));
    if !names {
        return None;
    }
    let erased = |v: &Option<String>| v.as_ref().map(|_| ERASED.to_string());
    let redacted = Run {
        email: erased(&run.email),
        source_ip: None,
        error: erased(&run.error),
        reason: erased(&run.reason),
        ..run.clone()
    };
    (redacted != *run).then_some(redacted)
}

/// Whether a JSON value names the member: a `user_id` (or `id` of a `user`) equal to theirs,
/// or a string holding their email.
fn value_names(v: &Value, user_id: i64, email: &str, key: Option<&str>) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            let id_key = k == "user_id" || (key == Some("user") && k == "id");
            let is_id =
                v.as_i64() == Some(user_id) || v.as_str().is_some_and(|s| s == user_id.to_string());
            (id_key && is_id) || value_names(v, user_id, email, Some(k))
        }),
        Value::Array(a) => a.iter().any(|v| value_names(v, user_id, email, key)),
        Value::String(s) => mentions(s, email),
        _ => false,
    }
}

/// The delivery with its body and response excerpts erased, when it names the member and is
/// not erased yet. `user.deleted` itself carries only the id, for subscribers to erase too: it
/// is kept as sent.
pub fn redact_delivery(d: &Delivery, user_id: i64, email: &str) -> Option<Delivery> {
    if d.event == names::USER_DELETED || d.payload == ERASED {
        return None;
    }
    let names = match serde_json::from_str::<Value>(&d.payload) {
        Ok(v) => value_names(&v, user_id, email, None),
        Err(_) => mentions(&d.payload, email),
    };
    if !names {
        return None;
    }
    let mut redacted = d.clone();
    redacted.payload = ERASED.to_string();
    for a in &mut redacted.attempts {
        if !a.response_body.is_empty() {
            a.response_body = ERASED.to_string();
        }
    }
    Some(redacted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incoming::run::RunOutcome;
    use serde_json::json;

    fn run(user_id: Option<i64>, email: Option<&str>) -> Run {
        let mut r = Run::new(
            3,
            "2026-01-01T00:00:00Z".parse().unwrap(),
            RunOutcome::Success,
            200,
        );
        r.user_id = user_id;
        r.email = email.map(str::to_string);
        r.source_ip = Some("203.0.113.9".into());
        r
    }

    #[test]
    fn a_run_naming_the_member_keeps_its_counts_and_loses_email_and_ip() {
        let mut r = run(Some(42), Some("ada@example.com"));
        r.spaces.added = vec![1, 2];
        let x = redact_run(&r, 42, "ada@example.com").expect("redacted");
        assert_eq!(x.email.as_deref(), Some(ERASED));
        assert_eq!(x.source_ip, None);
        assert_eq!((x.id.as_str(), x.time), (r.id.as_str(), r.time));
        assert_eq!(
            (x.status_code, x.outcome, x.user_id),
            (200, RunOutcome::Success, Some(42))
        );
        assert_eq!(x.spaces.added, vec![1, 2]);
        assert_eq!(
            redact_run(&x, 42, "ada@example.com"),
            None,
            "already erased"
        );
        // By email alone (an unresolved run), or in its reason.
        assert!(redact_run(&run(None, Some("ada@example.com")), 42, "ada@example.com").is_some());
        let mut u = run(None, None);
        u.reason = Some("'ada@example.com' is not a valid email address".into());
        assert_eq!(
            redact_run(&u, 42, "ada@example.com").and_then(|x| x.reason),
            Some(ERASED.into())
        );
        // Another member's run stays.
        assert_eq!(
            redact_run(
                &run(Some(7), Some("bob@example.com")),
                42,
                "ada@example.com"
            ),
            None
        );
    }

    fn delivery(event: &str, payload: Value) -> Delivery {
        serde_json::from_value(json!({
            "id": "01D", "webhook_id": 1, "event_id": "01E", "event": event,
            "status": "success", "payload": payload.to_string(), "next_attempt_at": null,
            "created_at": "2026-01-01T00:00:00Z",
            "attempts": [{"attempt": 1, "attempted_at": "2026-01-01T00:00:00Z",
                "request_headers": {}, "response_code": 200, "response_body": "hi Ada",
                "response_time": 5, "error": null}]
        }))
        .unwrap()
    }

    #[test]
    fn a_delivery_naming_the_member_loses_body_and_excerpts() {
        let joined = delivery(
            "space.member_joined",
            json!({"event": "space.member_joined", "data": {"user": {"id": 42, "email": "x"}}}),
        );
        let x = redact_delivery(&joined, 42, "ada@example.com").expect("by user id");
        assert_eq!(x.payload, ERASED);
        assert_eq!(x.attempts[0].response_body, ERASED);
        assert_eq!(
            (x.status, x.attempts[0].response_code),
            (joined.status, Some(200))
        );
        assert_eq!(
            redact_delivery(&x, 42, "ada@example.com"),
            None,
            "already erased"
        );
        let by_email = delivery("feed.created", json!({"data": {"by": "Ada@Example.com"}}));
        assert!(redact_delivery(&by_email, 42, "ada@example.com").is_some());
        let slack = Delivery {
            payload: "Ada <ada@example.com> joined".into(),
            ..by_email.clone()
        };
        assert!(redact_delivery(&slack, 42, "ada@example.com").is_some());
        let other = delivery("feed.created", json!({"data": {"user_id": 7, "n": 42}}));
        assert_eq!(redact_delivery(&other, 42, "ada@example.com"), None);
        let deleted = delivery("user.deleted", json!({"data": {"user_id": 42}}));
        assert_eq!(redact_delivery(&deleted, 42, "ada@example.com"), None);
    }

    #[test]
    fn phases_run_in_order_and_the_done_job_forgets_the_email() {
        let mut j = ErasureJob::new(
            42,
            "ada@example.com",
            jiff::Timestamp::from_millisecond(1_700_000_000_000).unwrap(),
        );
        assert!(
            j.until.as_str()
                > ulid::Ulid::from_parts(1_700_000_000_000, 0)
                    .to_string()
                    .as_str()
        );
        j.cursor.owner = Some(3);
        j.next_phase();
        assert_eq!((j.phase, j.cursor.owner), (Phase::Runs, None));
        j.next_phase();
        assert_eq!(j.phase, Phase::Deliveries);
        assert_eq!(j.status, JobStatus::Running);
        j.next_phase();
        assert_eq!(
            (j.phase, j.status, j.email.as_deref()),
            (Phase::Done, JobStatus::Done, None)
        );
        assert!(j.public().get("email").is_none());
    }
}
