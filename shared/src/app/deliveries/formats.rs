//! Delivery bodies in the endpoint's format (docs/reference/formats.md): rendering a new delivery,
//! recording one that cannot be rendered, re-rendering it on redelivery, and the admin preview.

use serde_json::Value;

use super::Deliveries;
use super::Trigger;
use crate::domain::delivery::{Attempt, Delivery, DeliveryStatus};
use crate::domain::events::Event;
use crate::domain::format::{render, standard, EventContext, RenderError, JSON};
use crate::domain::outgoing::OutgoingWebhook;
use crate::domain::time;
use crate::error::Result;

/// Marks a delivery whose body could not be rendered: its `payload` is then the standard
/// envelope of the event, kept so that a redelivery can render it again.
const NOT_RENDERED: &str = "not sent: the body could not be rendered";

impl Deliveries {
    /// The delivery of `event` to `ep`, with its body in the endpoint's format. `Err` is the
    /// same delivery, `failed`, when the body cannot be rendered (see [`Self::record_unrendered`]).
    pub(crate) fn new_delivery(
        &self,
        ep: &OutgoingWebhook,
        event: &Event,
        xprofile: Option<&Value>,
        id: String,
    ) -> std::result::Result<Delivery, Box<Delivery>> {
        let ctx = EventContext::of(event, ep.id(), &id, xprofile);
        let rendered = render(&ep.config.destination, &ctx);
        let mut d = Delivery {
            id: id.clone(),
            webhook_id: ep.id(),
            event_id: event.event_id.clone(),
            event: event.event,
            status: DeliveryStatus::Pending,
            payload: String::new(),
            content_type: None,
            attempts: vec![],
            next_attempt_at: None,
            created_at: time::now_s(),
            attempt_count: 0,
        };
        match rendered {
            Ok(r) => {
                d.payload = r.body;
                d.content_type = (r.content_type != JSON).then_some(r.content_type);
                Ok(d)
            }
            Err(e) => {
                d.payload = standard::payload(
                    ctx.event,
                    ctx.timestamp,
                    ctx.webhook_id,
                    &id,
                    ctx.data,
                    xprofile,
                );
                Err(Box::new(unrendered(d, &e)))
            }
        }
    }

    /// Records a delivery that could not be rendered: `failed` at once (the same template fails
    /// the same way on every retry) and, when scheduled, counted against the endpoint.
    pub(crate) async fn record_unrendered(
        &self,
        ep: &OutgoingWebhook,
        d: Box<Delivery>,
        trigger: Trigger,
        prev_attempts: Option<usize>,
    ) -> Result<Delivery> {
        let d = *d;
        let saved = match prev_attempts {
            None => self.deliveries.create(&d).await?,
            Some(prev) => self.deliveries.save(&d, prev).await?,
        };
        let reason = d
            .attempts
            .last()
            .and_then(|a| a.error.clone())
            .unwrap_or_default();
        tracing::warn!(delivery_id = %d.id, webhook_id = ep.id(), event = %d.event, "delivery body could not be rendered");
        if saved && trigger == Trigger::Scheduled {
            self.webhooks.delivery_failed(ep.id(), &reason).await?;
        } else if saved {
            self.webhooks.errored(ep.id(), &reason).await?;
        }
        Ok(d)
    }

    /// A redelivery: the same body, unless it was never rendered (then it is rendered now,
    /// with the endpoint's current format). `Err` is the delivery, failed again.
    pub(crate) fn redelivery_body(
        &self,
        ep: &OutgoingWebhook,
        mut d: Delivery,
    ) -> std::result::Result<Delivery, Box<Delivery>> {
        if !is_unrendered(&d) {
            return Ok(d);
        }
        let envelope: Value = serde_json::from_str(&d.payload).unwrap_or(Value::Null);
        let ctx = EventContext {
            event: d.event.as_str(),
            timestamp: envelope["timestamp"].as_str().unwrap_or_default(),
            webhook_id: ep.id(),
            delivery_id: &d.id,
            data: &envelope["data"],
            xprofile: envelope.get("xprofile"),
        };
        match render(&ep.config.destination, &ctx) {
            Ok(r) => {
                d.payload = r.body;
                d.content_type = (r.content_type != JSON).then_some(r.content_type);
                d.status = DeliveryStatus::Pending;
                Ok(d)
            }
            Err(e) => Err(Box::new(unrendered(d, &e))),
        }
    }
}

fn is_unrendered(d: &Delivery) -> bool {
    d.status == DeliveryStatus::Failed
        && d.attempts.iter().all(|a| {
            a.response_code.is_none()
                && a.error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(NOT_RENDERED))
        })
        && !d.attempts.is_empty()
}

/// `d` failed with one more (unsent) attempt explaining why.
fn unrendered(mut d: Delivery, e: &RenderError) -> Delivery {
    let reason = crate::domain::incoming::truncate(&format!("{NOT_RENDERED} ({e})"), 500);
    d.status = DeliveryStatus::Failed;
    d.content_type = None;
    d.next_attempt_at = None;
    d.attempts.push(Attempt {
        attempt: u32::try_from(d.attempts.len() + 1).unwrap_or(u32::MAX),
        attempted_at: time::now_s(),
        request_headers: Default::default(),
        response_code: None,
        response_body: String::new(),
        response_time: 0,
        error: Some(reason),
    });
    d
}
