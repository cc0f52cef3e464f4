//! The silence sweep (docs/reference/incoming.md#silence-alerts): incoming webhooks with
//! `expect_every_hours` that got no accepted call for that long open one alert
//! (`incoming_webhook.silent`, whose fan-out emails the operator once), and close it with
//! `incoming_webhook.resumed` once a call was accepted.
//!
//! Found through the due index (`store::silence`), never a Scan; at most
//! [`silence::MAX_PER_SWEEP`] silences and as many resumptions per run. Every change is
//! conditional, so concurrent sweeps and calls never alert twice.

use serde_json::json;

use super::Incoming;
use crate::domain::events::{names, Event};
use crate::domain::incoming::silence;
use crate::domain::time;
use crate::error::Result;
use crate::store::silence::{OpenSilence, Overdue, SilenceTag};

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SilenceSweep {
    /// Alerts opened (`incoming_webhook.silent`).
    pub silent: usize,
    /// Alerts closed by a call (`incoming_webhook.resumed`).
    pub resumed: usize,
}

impl Incoming {
    /// The silence sweep, now.
    pub async fn sweep_silence(&self) -> Result<SilenceSweep> {
        self.sweep_silence_at(time::now()).await
    }

    /// The silence sweep as of `now` (tests pass a time ahead).
    pub async fn sweep_silence_at(&self, now: jiff::Timestamp) -> Result<SilenceSweep> {
        let now = time::second(now);
        let mut done = SilenceSweep::default();
        let overdue = self
            .silence
            .overdue(&time::rfc3339(now), silence::MAX_PER_SWEEP)
            .await?;
        for due in overdue {
            if self.open_alert(&due, now).await? {
                done.silent += 1;
            }
        }
        for open in self.silence.open(silence::MAX_PER_SWEEP).await? {
            if self.close_alert(&open).await? {
                done.resumed += 1;
            }
        }
        crate::metrics::Observation::Silence {
            silent: done.silent as u64,
            resumed: done.resumed as u64,
        }
        .emit();
        Ok(done)
    }

    /// Opens the alert of an overdue entry, if the webhook is still silent; `true` if this sweep
    /// opened it.
    async fn open_alert(&self, due: &Overdue, now: jiff::Timestamp) -> Result<bool> {
        let Some(w) = self.webhooks.get(due.webhook_id).await? else {
            self.silence.move_due(due, None).await?;
            return Ok(false);
        };
        // The index is a hint: the webhook's own times decide.
        let (Some(hours), Some(next)) = (w.expect_every_hours, w.silence_due()) else {
            self.silence.move_due(due, None).await?;
            return Ok(false);
        };
        if next > time::rfc3339(now) {
            self.silence.move_due(due, Some(&next)).await?;
            return Ok(false);
        }
        let alert = OpenSilence {
            webhook_id: w.id,
            title: w.title.clone(),
            last_call_at: w.last_run_at,
            silent_at: now,
        };
        let event = Event::new(
            names::INCOMING_WEBHOOK_SILENT,
            json!({
                "webhook_id": w.id,
                "title": w.title,
                "last_call_at": w.last_run_at.map(time::rfc3339),
                "expect_every_hours": hours,
            }),
            None,
            None,
        );
        let items = self.silence.open_items(due, &alert)?;
        match self
            .outbox
            .commit_with_events(items, vec![event], SilenceTag::Other)
            .await?
        {
            Ok(()) => {
                tracing::warn!(webhook_id = w.id, hours, "incoming webhook silent");
                Ok(true)
            }
            // An alert is already open (the webhook was edited while silent): no second one.
            Err(failed) if failed == [SilenceTag::Open] => {
                self.silence.move_due(due, None).await?;
                Ok(false)
            }
            // A call or another sweep moved the entry meanwhile.
            Err(_) => Ok(false),
        }
    }

    /// Closes an open alert once the webhook accepted a call after it (or is gone, or no longer
    /// expects calls: then without an event); `true` if this sweep announced a resumption.
    async fn close_alert(&self, open: &OpenSilence) -> Result<bool> {
        let w = self.webhooks.get(open.webhook_id).await?;
        let close = self.silence.close_item(open.webhook_id)?;
        let Some(w) = w.filter(|w| w.expect_every_hours.is_some()) else {
            let _ = self
                .outbox
                .commit_with_events(vec![((), close)], vec![], ())
                .await?;
            return Ok(false);
        };
        if !silence::resumed(w.last_run_at, open.last_call_at) {
            return Ok(false);
        }
        let event = Event::new(
            names::INCOMING_WEBHOOK_RESUMED,
            json!({
                "webhook_id": w.id,
                "title": w.title,
                "last_call_at": w.last_run_at.map(time::rfc3339),
                "silent_since": open.last_call_at.map(time::rfc3339),
            }),
            None,
            None,
        );
        let won = self
            .outbox
            .commit_with_events(vec![((), close)], vec![event], ())
            .await?
            .is_ok();
        if won {
            tracing::info!(webhook_id = w.id, "incoming webhook resumed");
        }
        Ok(won)
    }
}
