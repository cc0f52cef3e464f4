//! An application password (docs/reference/security.md): its record and API view (never the
//! password or hash).

use serde::{Deserialize, Serialize};

use crate::auth::Scope;

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct AppPassword {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    /// argon2id PHC string of the password.
    pub hash: String,
    #[serde(with = "crate::time::wire")]
    pub created_at: jiff::Timestamp,
    #[serde(default, with = "crate::time::wire::option")]
    pub last_used_at: Option<jiff::Timestamp>,
    /// Epoch seconds of `last_used_at` (for the once-a-minute update condition).
    #[serde(default)]
    pub last_used_epoch: i64,
}

crate::redact::redacted_debug!(AppPassword);
