//! Managing outgoing webhooks (docs/reference/outgoing.md#endpoints), testing and redelivering,
//! publishing events (docs/reference/outgoing.md#publishing-events).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::deliveries::Trigger;
use super::{Deliveries, Outbox};
use crate::config::Config;
use crate::domain::delivery::{Delivery, DeliveryStatus};
use crate::domain::egress::check_ip;
use crate::domain::events::{names, Event, EventName, Origin};
use crate::domain::fields::optional;
use crate::domain::format::patch::{sample_context, validate};
use crate::domain::format::render;
use crate::domain::format::sample::sample;
use crate::domain::format::{Destination, DestinationPatch};
use crate::domain::incoming::limits;
use crate::domain::outgoing::filter::Filter;
use crate::domain::outgoing::patch::{overlap_seconds, OutgoingPatch};
use crate::domain::outgoing::signing::delivery_id;
use crate::domain::outgoing::{OutgoingConfig, OutgoingStatus, OutgoingWebhook};
use crate::domain::page::{Page, PageRequest};
use crate::domain::{publish, secret, time};
use crate::error::{Error, Result};
use crate::resolver::Lookup;
use crate::sender::SendOutcome;
use crate::store::{DeliveryRepo, OutgoingRepo, PublishRecord, PublishRepo, Repositories};

/// Largest published event, serialized whole (`data`, `xprofile` and all;
/// docs/reference/outgoing.md#publishing-events allows at most 256 KiB): it must travel alone in
/// one outbox item and one SQS message ([`limits::OUTBOX_ITEM_MAX_BYTES`], which leaves room for
/// the batch around it).
const MAX_PUBLISHED_EVENT_BYTES: usize = limits::OUTBOX_ITEM_MAX_BYTES;
const _: () = assert!(MAX_PUBLISHED_EVENT_BYTES <= 256 * 1024);

fn not_found() -> Error {
    Error::NotFound("Webhook not found.".into())
}

/// Outgoing webhooks: their configuration, tests, redeliveries, and publishing events.
#[derive(Debug)]
pub struct Outgoing {
    webhooks: OutgoingRepo,
    deliveries: DeliveryRepo,
    outbox: Outbox,
    publishes: PublishRepo,
    /// The delivery engine: tests and redeliveries are attempted through it.
    engine: Arc<Deliveries>,
    /// Resolves endpoint hosts for the save-time address check.
    resolver: Arc<dyn Lookup>,
    config: Arc<Config>,
}

impl Outgoing {
    pub(crate) fn new(
        repos: &Repositories,
        outbox: Outbox,
        engine: Arc<Deliveries>,
        resolver: Arc<dyn Lookup>,
        config: Arc<Config>,
    ) -> Self {
        Self {
            webhooks: repos.outgoing.clone(),
            deliveries: repos.deliveries.clone(),
            outbox,
            publishes: repos.publishes.clone(),
            engine,
            resolver,
            config,
        }
    }

    pub(crate) fn with_resolver(self, resolver: Arc<dyn Lookup>) -> Self {
        Self { resolver, ..self }
    }

    pub async fn list(&self, req: &PageRequest) -> Result<Page<OutgoingWebhook>> {
        self.webhooks.list(req).await
    }

    /// An endpoint's deliveries, newest first, optionally in one status (`404` for an unknown
    /// endpoint).
    pub async fn deliveries(
        &self,
        id: i64,
        status: Option<DeliveryStatus>,
        req: &PageRequest,
    ) -> Result<Page<Delivery>> {
        self.get(id).await?;
        self.deliveries.list(id, status, req).await
    }

    /// One delivery of an endpoint (`404` when there is none).
    pub async fn delivery(&self, id: i64, delivery: &str) -> Result<Delivery> {
        self.deliveries
            .get(id, delivery)
            .await?
            .ok_or_else(|| Error::NotFound("Delivery not found.".into()))
    }

    pub async fn get(&self, id: i64) -> Result<OutgoingWebhook> {
        self.webhooks.get(id).await?.ok_or_else(not_found)
    }

    /// Rejects hosts that resolve to forbidden addresses now (checked again at every send).
    async fn check_resolved(&self, url: &str) -> Result<()> {
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return Err(Error::bad_url("Webhook URL must be a valid HTTPS URL."));
        };
        let Some(url::Host::Domain(host)) = parsed.host() else {
            return Ok(());
        };
        let lookup = tokio::time::timeout(
            Duration::from_secs(3),
            self.resolver.lookup(host.to_string()),
        )
        .await;
        if let Ok(Ok(addrs)) = lookup {
            for ip in addrs {
                check_ip(ip, self.config.local_mode)?;
            }
        }
        // Unresolvable now (offline, not yet created): allowed; the send-time check still applies.
        Ok(())
    }

    pub async fn create(&self, body: &Map<String, Value>) -> Result<OutgoingWebhook> {
        let patch = OutgoingPatch::from_json(body, true, self.config.local_mode)?;
        let format = DestinationPatch::from_json(body)?;
        if let Some(u) = &patch.url {
            self.check_resolved(u).await?;
        }
        let id = self.webhooks.next_id().await?;
        let now = time::now_s();
        let status = patch.status.unwrap_or(OutgoingStatus::Active);
        let mut config = OutgoingConfig {
            id,
            name: String::new(),
            url: String::new(),
            events: vec![],
            secret: secret::outgoing_secret(),
            headers: Default::default(),
            retry_count: 3,
            created_at: now,
            updated_at: now,
            revision: 0,
            ordering: Default::default(),
            destination: Default::default(),
            filter: None,
            rate_limit: None,
            previous_secret: None,
        };
        patch.apply(&mut config);
        // A known chat webhook URL chooses its format when none is given.
        format.apply(&mut config.destination, Some(&config.url));
        validate(&config.destination, &config.events)?;
        let endpoint = OutgoingWebhook {
            config,
            status,
            last_triggered_at: None,
            last_error: None,
            consecutive_failures: 0,
            recovering: false,
        };
        if !self.webhooks.create(&endpoint).await? {
            return Err(Error::Conflict(
                "Please retry: the id was taken concurrently.".into(),
            ));
        }
        Ok(endpoint)
    }

    pub async fn update(&self, id: i64, body: &Map<String, Value>) -> Result<OutgoingWebhook> {
        let patch = OutgoingPatch::from_json(body, false, self.config.local_mode)?;
        let format = DestinationPatch::from_json(body)?;
        if let Some(u) = &patch.url {
            self.check_resolved(u).await?;
        }
        let current = self.get(id).await?;
        let status = patch.status;
        let reactivated =
            current.status == OutgoingStatus::Failed && status == Some(OutgoingStatus::Active);
        let mut config = current.config.clone();
        let recheck = !format.is_empty() || patch.events.is_some();
        patch.apply(&mut config);
        format.apply(&mut config.destination, None);
        if recheck {
            validate(&config.destination, &config.events)?;
        }
        let saved = self.save(config, status, reactivated).await?;
        if current.is_paused() && saved.is_active() {
            // Resumed: its held deliveries are released
            // (docs/reference/outgoing.md#pause-and-throttle).
            self.engine.resume(id).await?;
        }
        Ok(saved)
    }

    /// How many deliveries of an endpoint are held (paused).
    pub async fn held_count(&self, id: i64) -> Result<u64> {
        self.engine.held_count(id).await
    }

    async fn save(
        &self,
        mut config: OutgoingConfig,
        status: Option<OutgoingStatus>,
        reactivated: bool,
    ) -> Result<OutgoingWebhook> {
        let prev = config.revision;
        config.revision += 1;
        config.updated_at = time::now_s();
        self.webhooks
            .save(&config, prev, status, reactivated)
            .await?
            .ok_or_else(|| {
                Error::Conflict(
                    "The webhook was changed or deleted concurrently; reload and retry.".into(),
                )
            })
    }

    /// `POST .../rotate-secret`: a new secret, the old one signing beside it for the overlap
    /// the body asks for (docs/reference/outgoing.md#filters-and-secret-rotation).
    pub async fn rotate_secret(
        &self,
        id: i64,
        body: &Map<String, Value>,
    ) -> Result<OutgoingWebhook> {
        let overlap = overlap_seconds(body)?;
        let mut config = self.get(id).await?.config;
        config.rotate(secret::outgoing_secret(), overlap, jiff::Timestamp::now());
        self.save(config, None, false).await
    }

    pub async fn delete(&self, id: i64) -> Result<()> {
        if self.webhooks.delete(id).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// A synchronous, signed `webhook.test` delivery, logged like any other.
    pub async fn test(&self, id: i64) -> Result<(Delivery, SendOutcome)> {
        let ep = self.get(id).await?;
        let event = Event::new(
            names::WEBHOOK_TEST,
            json!({"message": "This is a test delivery from Switchboard.", "webhook_id": id, "webhook_name": ep.config.name}),
            None,
            None,
        );
        let did = delivery_id(&event.event_id, id);
        let d = match self.engine.new_delivery(&ep, &event, None, did) {
            Ok(d) => {
                // Record it first so the attempt's conditional save has something to update.
                self.deliveries.create(&d).await?;
                self.engine.attempt(&ep, d, Trigger::Manual).await?
            }
            Err(d) => {
                self.engine
                    .record_unrendered(&ep, d, Trigger::Manual, None)
                    .await?
            }
        };
        let outcome = outcome_of(&d);
        Ok((d, outcome))
    }

    /// A new attempt of an existing delivery: same id, same body, fresh timestamp and signature
    /// (a body that could not be rendered is rendered now, with the current format).
    pub async fn redeliver(&self, id: i64, delivery: &str) -> Result<Delivery> {
        let ep = self.get(id).await?;
        let d = self
            .deliveries
            .get(id, delivery)
            .await?
            .ok_or_else(|| Error::NotFound("Delivery not found.".into()))?;
        let prev = d.attempts.len();
        match self.engine.redelivery_body(&ep, d) {
            Ok(d) => self.engine.attempt(&ep, d, Trigger::Manual).await,
            Err(d) => {
                self.engine
                    .record_unrendered(&ep, d, Trigger::Manual, Some(prev))
                    .await
            }
        }
    }

    /// `POST /admin/webhooks/preview`: the body a format renders for a sample event. Nothing
    /// is sent or stored.
    pub fn preview(&self, body: &Map<String, Value>) -> Result<Value> {
        let event = match body.get("event") {
            None | Some(Value::Null) => names::WEBHOOK_TEST,
            Some(Value::String(s)) => EventName::parse(s.trim())
                .ok_or_else(|| Error::bad_event(&crate::domain::incoming::truncate(s, 80)))?,
            Some(_) => return Err(Error::invalid("event", "must be an event type")),
        };
        let url = match body.get("url") {
            None | Some(Value::Null) => None,
            Some(Value::String(u)) => Some(u.trim()),
            Some(_) => return Err(Error::invalid("url", "must be a string")),
        };
        let mut dest = Destination::default();
        DestinationPatch::from_json(body)?.apply(&mut dest, url);
        // The catalog's sample, or the caller's own `data` / `xprofile`.
        let (sample_data, sample_xprofile) = sample(event.as_str());
        let data = optional(body, "data", object_field("data"))?.unwrap_or(sample_data);
        let xprofile = optional(body, "xprofile", object_field("xprofile"))?.or(sample_xprofile);
        let ctx = sample_context(event.as_str(), 1, &data, xprofile.as_ref());
        let rendered = render(&dest, &ctx).map_err(|e| Error::invalid(e.field, e.reason))?;
        let mut out = json!({
            "event": event,
            "format": dest.format,
            "content_type": rendered.content_type,
            "body": rendered.body,
        });
        if let Some(f) = optional(body, "filter", |v| {
            Filter::parse(v).map_err(|e| crate::domain::error::Error::invalid("filter", e.0))
        })? {
            out["filter_passes"] = json!(f.matches(&ctx.payload_json()));
        }
        Ok(out)
    }

    /// `POST /admin/events`: any catalog event, fanned out like the built-in ones. With an
    /// idempotency key (the header's, or the body's `event_id`), a repeat within 24 h answers
    /// the first call's event id and publishes nothing; a repeat with another body is `409`.
    pub async fn publish(
        &self,
        body: &Map<String, Value>,
        idempotency_key: Option<&str>,
    ) -> Result<String> {
        let key = publish::publish_key(idempotency_key, body)
            .map_err(|e| Error::invalid(e.field, e.reason))?;
        let name = match body.get("event") {
            Some(Value::String(s)) => EventName::parse(s.trim()).ok_or_else(|| {
                Error::bad_event(&crate::domain::incoming::truncate(s.trim(), 80))
            })?,
            None => return Err(Error::invalid("event", "is required")),
            Some(_) => return Err(Error::invalid("event", "must be a string")),
        };
        if name.origin() == Origin::Engine {
            return Err(Error::Invalid {
                code: crate::error::Code::InvalidEvent,
                message: format!(
                    "Event type '{name}' is emitted by Switchboard itself and cannot be published."
                ),
            });
        }
        let data = match body.get("data") {
            None | Some(Value::Null) => json!({}),
            Some(Value::Object(m)) => Value::Object(m.clone()),
            Some(_) => return Err(Error::invalid("data", "must be an object")),
        };
        let user_id = match body.get("user_id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Error::invalid("user_id", "must be a positive integer"))?,
            ),
        };
        let xprofile = match body.get("xprofile") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(Value::Object(m.clone())),
            Some(_) => return Err(Error::invalid("xprofile", "must be an object")),
        };
        let event = Event::new(name, data, user_id, xprofile);
        let size = serde_json::to_vec(&event).map_err(Error::dep)?.len();
        if size > MAX_PUBLISHED_EVENT_BYTES {
            return Err(Error::PayloadTooLarge(format!(
                "The event serializes to {size} bytes; at most {MAX_PUBLISHED_EVENT_BYTES} are allowed."
            )));
        }
        let id = event.event_id.clone();
        let Some(key) = key else {
            self.outbox
                .commit_with_events(Vec::new(), vec![event], false)
                .await?
                .map_err(|_| Error::Dependency("the event could not be stored".into()))?;
            return Ok(id);
        };
        let record = PublishRecord {
            event_id: id.clone(),
            body: publish::fingerprint(body),
            expires_at: time::now().as_second() + publish::IDEMPOTENCY_WINDOW_SECONDS,
        };
        let first = vec![(true, self.publishes.put_first(&key, &record)?)];
        match self
            .outbox
            .commit_with_events(first, vec![event], false)
            .await?
        {
            Ok(()) => Ok(id),
            Err(failed) if failed.contains(&true) => {
                // The key is taken: the first call's answer, if it was for the same body.
                let earlier = self.publishes.get(&key).await?.ok_or_else(|| {
                    Error::Conflict(
                        "Please retry: the idempotency key is being used concurrently.".into(),
                    )
                })?;
                if earlier.body == record.body {
                    Ok(earlier.event_id)
                } else {
                    Err(Error::IdempotencyConflict(
                        "This idempotency key was used with a different request body.".into(),
                    ))
                }
            }
            Err(_) => Err(Error::Dependency("the event could not be stored".into())),
        }
    }
}

/// The seed's test response figures from a delivery's last attempt.
fn outcome_of(d: &Delivery) -> SendOutcome {
    let last = d.attempts.last();
    SendOutcome {
        status: last.and_then(|a| a.response_code),
        body_excerpt: last.map(|a| a.response_body.clone()).unwrap_or_default(),
        duration_ms: last.map(|a| a.response_time).unwrap_or(0),
        error: last.and_then(|a| a.error.clone()),
        retry_after: None,
    }
}

/// An object field (for [`optional`]).
fn object_field(field: &'static str) -> impl FnOnce(&Value) -> crate::domain::error::Result<Value> {
    move |v| match v {
        Value::Object(_) => Ok(v.clone()),
        _ => Err(crate::domain::error::Error::invalid(
            field,
            "must be an object",
        )),
    }
}
