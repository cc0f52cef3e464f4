//! Timed access: how long a grant lasts (docs/reference/providers.md#timed-access).

use serde::{Deserialize, Serialize};

use crate::incoming::providers::ProviderEvent;

/// How long a grant lasts (timed access): `{"days": N}` from the event, or `"period_end"`: until
/// the subscription period the event names ends (Stripe `current_period_end`, Paddle
/// `current_billing_period.ends_at`, Lemon Squeezy `renews_at`/`ends_at`). Without it a grant
/// lasts until revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    PeriodEnd,
    #[serde(untagged)]
    Days {
        days: u32,
    },
}

/// Longest timed access, in days (ten years).
pub const MAX_ACCESS_DAYS: u32 = 3650;

impl Access {
    /// When a grant made at `now` (Unix seconds) by event `ev` ends; `None`: it does not
    /// (`period_end` on an event that names no period). Days count from when the provider says
    /// the event happened, so a retried delivery of it grants the same end; from `now` when the
    /// event names no time or one in the future.
    pub fn expires_at(self, now: i64, ev: &ProviderEvent) -> Option<i64> {
        match self {
            Access::Days { days } => {
                let from = ev.occurred_at.filter(|&at| at <= now).unwrap_or(now);
                Some(from + i64::from(days) * 86_400)
            }
            Access::PeriodEnd => ev.period_end,
        }
    }
}
