//! What a plan is made of: the membership writes with their conditions, the response, and what
//! happened to each kind of membership.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::events::Event;
use crate::incoming::run::{Run, WelcomeEmail};
use crate::member::Member;
use crate::membership::Membership;

/// A membership write and the condition it carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A new membership (only if absent).
    Add,
    /// Delete it (only if present; at `rev` when given).
    Remove { rev: Option<i64> },
    /// Its grants changed (only at `rev`).
    Update { rev: i64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub op: Op,
    pub membership: Membership,
}

/// The success response of docs/reference/incoming.md (plus `outcome` for provider sources).
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub user_id: i64,
    pub created: bool,
    pub spaces: Outcome,
    pub courses: Outcome,
    pub welcome_email: WelcomeEmail,
    pub execution_timestamp: i64,
    pub outcome: Option<&'static str>,
}

impl Applied {
    pub fn body(&self) -> Value {
        let mut body = json!({
            "status": "success",
            "success": true,
            "message": "webhook has been successfully executed",
            "execution_timestamp": self.execution_timestamp,
            "user_id": self.user_id,
            "created": self.created,
            "spaces": self.spaces,
            "courses": self.courses,
            "welcome_email": self.welcome_email,
        });
        if let Some(o) = self.outcome {
            body["outcome"] = json!(o);
        }
        body
    }
}

/// Everything one execution writes.
#[derive(Clone, Debug)]
pub struct Plan {
    pub member: Member,
    pub created: bool,
    pub changes: Vec<Change>,
    pub events: Vec<Event>,
    pub run: Run,
    pub response: Applied,
}

/// Why no plan could be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unplanned {
    /// No member and none to create.
    Unresolved,
}

/// What happened to one kind of membership (`spaces` or `courses` in the response).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub added: Vec<i64>,
    pub removed: Vec<i64>,
    pub skipped: Vec<i64>,
}
