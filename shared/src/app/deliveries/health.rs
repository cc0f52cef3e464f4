//! An endpoint's health after each attempt, and telling the operator
//! (docs/reference/outgoing.md#the-delivery, docs/reference/outgoing.md#operators-told): disabling
//! (410 Gone, or five failed deliveries in a row) publishes `endpoint.disabled` in the same
//! transaction as the status change, so exactly one caller wins it; the fan-out of that event
//! emails `OPERATOR_EMAIL` once (a conditional claim per event). A re-activated endpoint's first
//! success publishes `endpoint.recovered` the same way.

use serde_json::json;

use super::Deliveries;
use crate::domain::delivery::machine::{disables_after, HealthChange, GONE};
use crate::domain::events::{names, Event, EventName};
use crate::domain::outgoing::OutgoingWebhook;
use crate::error::Result;
use crate::sender::SendOutcome;

pub const DISABLED: EventName = names::ENDPOINT_DISABLED;
pub const RECOVERED: EventName = names::ENDPOINT_RECOVERED;
pub const SILENT: EventName = names::INCOMING_WEBHOOK_SILENT;

impl Deliveries {
    /// Writes what an attempt changed about its endpoint (the state machine's `change`).
    pub(crate) async fn record_health(
        &self,
        ep: &OutgoingWebhook,
        change: HealthChange,
        outcome: &SendOutcome,
        now: jiff::Timestamp,
    ) -> Result<()> {
        match change {
            HealthChange::Succeeded | HealthChange::Recovered => {
                if !ep.success_changes_health(now) {
                    return Ok(());
                }
                if change == HealthChange::Recovered && self.mark_recovered(ep, now).await? {
                    return Ok(());
                }
                self.webhooks.succeeded(ep.id(), now).await
            }
            HealthChange::Disable => self.disable(ep, GONE).await,
            HealthChange::CountFailure => {
                let error = outcome.error_text();
                let count = self.webhooks.delivery_failed(ep.id(), &error).await?;
                if disables_after(count, ep.health()) {
                    self.disable(ep, &error).await?;
                }
                Ok(())
            }
            HealthChange::Errored => self.webhooks.errored(ep.id(), &outcome.error_text()).await,
        }
    }

    /// Sets the endpoint `failed` and publishes `endpoint.disabled`, once per disable.
    async fn disable(&self, ep: &OutgoingWebhook, error: &str) -> Result<()> {
        let event = Event::new(
            DISABLED,
            json!({"webhook_id": ep.id(), "name": ep.config.name, "last_error": error}),
            None,
            None,
        );
        let update = self.webhooks.disable(ep.id(), error)?;
        if self
            .outbox
            .commit_with_events(vec![((), update)], vec![event], ())
            .await?
            .is_ok()
        {
            tracing::warn!(webhook_id = ep.id(), "endpoint disabled");
        }
        Ok(())
    }

    /// Clears `recovering` and publishes `endpoint.recovered`; `false` if another success won.
    async fn mark_recovered(&self, ep: &OutgoingWebhook, now: jiff::Timestamp) -> Result<bool> {
        let event = Event::new(
            RECOVERED,
            json!({"webhook_id": ep.id(), "name": ep.config.name}),
            None,
            None,
        );
        let update = self.webhooks.recovered(ep.id(), now)?;
        Ok(self
            .outbox
            .commit_with_events(vec![((), update)], vec![event], ())
            .await?
            .is_ok())
    }

    /// The operator's email for an `endpoint.disabled` or `incoming_webhook.silent` event (at
    /// most once per event).
    pub(crate) async fn notify_operator(&self, event: &Event) -> Result<()> {
        if event.event != DISABLED && event.event != SILENT {
            return Ok(());
        }
        let Some(to) = self.config.operator_email.as_deref() else {
            tracing::info!(event = %event.event, "OPERATOR_EMAIL is not set: no operator email");
            return Ok(());
        };
        if !self.notices.claim(&event.event_id).await? {
            return Ok(());
        }
        let text = |k: &str| event.data[k].as_str().unwrap_or_default().to_string();
        let webhook_id = event.data["webhook_id"].as_i64().unwrap_or_default();
        let email = if event.event == SILENT {
            let hours = event.data["expect_every_hours"]
                .as_u64()
                .unwrap_or_default();
            crate::mail::incoming_silent_email(
                &self.config,
                to,
                webhook_id,
                &text("title"),
                u16::try_from(hours).unwrap_or_default(),
                event.data["last_call_at"].as_str(),
            )?
        } else {
            crate::mail::endpoint_disabled_email(
                &self.config,
                to,
                webhook_id,
                &text("name"),
                &text("last_error"),
            )?
        };
        if let Err(e) = self.mailer.send(&email).await {
            // Give the claim back so that the redelivered message tries again.
            self.notices.unclaim(&event.event_id).await?;
            return Err(e);
        }
        Ok(())
    }
}
