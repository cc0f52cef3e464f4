//! What one execution asks for, and what was read for it.

use std::collections::BTreeSet;

use crate::incoming::IncomingWebhook;
use crate::member::Member;
use crate::membership::{Kind, MemberState};

/// What the call asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// The seeds' form call: the webhook's remove-then-add lists.
    Form,
    /// A provider purchase: these spaces and courses, held by a grant naming `objects`.
    Grant {
        spaces: Vec<i64>,
        courses: Vec<i64>,
        objects: Vec<String>,
        /// Timed access: when the grant ends.
        expires_at: Option<jiff::Timestamp>,
    },
    /// A provider's "access ended": the grants this webhook made for `objects` (none: all).
    Revoke { objects: Vec<String> },
}

impl Intent {
    pub(super) fn label(&self) -> Option<&'static str> {
        match self {
            Intent::Form => None,
            Intent::Grant { .. } => Some("granted"),
            Intent::Revoke { .. } => Some("revoked"),
        }
    }
}

/// One execution request, as the service hands it to [`plan`](super::plan).
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub webhook: &'a IncomingWebhook,
    pub email: &'a str,
    pub intent: Intent,
    pub courses_enabled: bool,
    pub source_ip: Option<String>,
    /// The provider event type, recorded in the run.
    pub event: Option<String>,
    /// Now, to the second.
    pub now: jiff::Timestamp,
}

/// What was read: the member's partition, a member this call may create (prepared by the
/// service: id allocated, login chosen), and the spaces/courses known not to exist.
#[derive(Clone, Copy, Debug)]
pub struct State<'a> {
    pub member: &'a MemberState,
    pub candidate: Option<&'a Member>,
    pub missing: &'a BTreeSet<(Kind, i64)>,
}
