//! The event catalog (docs/reference/outgoing.md#publishing-events) and the event envelope that
//! travels through the outbox and SQS.

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod catalog;
mod cursor;
pub use catalog::{
    catalog_json, is_catalog_event, names, EventName, EventPattern, Origin, CATALOG,
};
pub use cursor::{OutboxCursor, ShardPosition};

/// One event, as written to the outbox and carried on the queue.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// ULID; the idempotency key of everything downstream.
    pub event_id: String,
    pub event: EventName,
    /// RFC 3339 UTC.
    pub timestamp: String,
    pub data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xprofile: Option<Value>,
}

impl Event {
    pub fn new(
        event: EventName,
        data: Value,
        user_id: Option<i64>,
        xprofile: Option<Value>,
    ) -> Self {
        Self {
            event_id: crate::time::new_ulid().to_string(),
            event,
            timestamp: super::time::now_rfc3339(),
            data,
            user_id,
            xprofile,
        }
    }
}

/// A group of events written by one state change: one outbox item, one SQS message.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EventBatch {
    pub batch_id: String,
    /// The outbox shard holding this batch (so the consumer can delete it by key).
    pub shard: u32,
    pub events: Vec<Event>,
}

/// Outbox partitions, so that a burst of writes does not land on one DynamoDB partition.
pub const OUTBOX_SHARDS: u32 = 8;

/// An acked batch still in the outbox this long after `relay` acked it was not fanned out (its
/// message went to the dead-letter queue after 5 failed receives, or was lost) or not removed
/// after its fan-out: the sweep re-sends it like an unacked one (the fan-out is idempotent).
/// Longer than a message's 5 receives take, so a batch still being retried is rarely sent twice.
pub const ACKED_RESEND_SECONDS: i64 = 3600;

/// A batch's shard: from its id's random bits.
fn shard_of(id: ulid::Ulid) -> u32 {
    (id.random() % u128::from(OUTBOX_SHARDS)) as u32
}

impl EventBatch {
    pub fn new(events: Vec<Event>) -> Self {
        let id = crate::time::new_ulid();
        Self {
            batch_id: id.to_string(),
            shard: shard_of(id),
            events,
        }
    }

    /// The shard a batch id lives in (`None`: not a batch id).
    pub fn shard_of_id(batch_id: &str) -> Option<u32> {
        ulid::Ulid::from_string(batch_id).ok().map(shard_of)
    }

    /// Events in order, packed into as few batches as fit `max_bytes` of JSON each (an event
    /// larger than that travels alone). See `incoming::limits` for why this bound matters.
    pub fn pack(events: Vec<Event>, max_bytes: usize) -> Vec<Self> {
        // The batch's own fields: its id, shard and brackets.
        const ENVELOPE: usize = 128;
        let mut out = Vec::new();
        let mut current = Vec::new();
        let mut size = ENVELOPE;
        for event in events {
            let n = serde_json::to_vec(&event).map_or(0, |v| v.len()) + 1;
            if !current.is_empty() && size + n > max_bytes {
                out.push(Self::new(std::mem::take(&mut current)));
                size = ENVELOPE;
            }
            size += n;
            current.push(event);
        }
        if !current.is_empty() {
            out.push(Self::new(current));
        }
        out
    }
}

/// An outbox batch as the sweeper and the admin API see it.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub batch: EventBatch,
    /// The queue message, exactly as first sent.
    pub body: String,
    pub created_at: i64,
    pub attempts: u32,
    pub sent_at: Option<i64>,
    pub parked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn catalog_has_both_seeds() {
        // The seeds' 24 + 26, `incoming_webhook.processed`, `webhook.test`, the two
        // `endpoint.*`, `user.deleted` (erasure) and the two silence alerts.
        assert_eq!(CATALOG.len(), 24 + 26 + 2 + 2 + 1 + 2);
        assert!(is_catalog_event("user.deleted"));
        assert!(is_catalog_event("commerce.revenue_recorded"));
        assert!(!is_catalog_event("invalid.event"));
    }

    #[test]
    fn packing_keeps_order_and_size() {
        let big = |i: usize| {
            Event::new(
                EventName::known("feed.created"),
                json!({"i": i, "pad": "x".repeat(300)}),
                None,
                None,
            )
        };
        let events: Vec<Event> = (0..10).map(big).collect();
        let batches = EventBatch::pack(events.clone(), 1000);
        assert!(batches.len() >= 4, "{}", batches.len());
        for b in &batches {
            assert!(serde_json::to_vec(b).unwrap().len() <= 1000);
        }
        let flat: Vec<Event> = batches.into_iter().flat_map(|b| b.events).collect();
        assert_eq!(flat, events);
        assert_eq!(EventBatch::pack(events, 1 << 20).len(), 1);
        assert!(EventBatch::pack(vec![], 1000).is_empty());
    }
}
