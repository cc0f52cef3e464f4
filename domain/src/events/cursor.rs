//! Where a walk through the outbox stands (`GET /admin/outbox?cursor=`, `POST
//! /admin/outbox/redrive`): one position per shard. The opaque cursor is its base64url JSON,
//! like the other lists' `next_cursor`.

use base64::Engine;

use super::{EventBatch, OUTBOX_SHARDS};
use crate::error::{Error, Result};

/// Where the walk stands in one shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardPosition {
    /// Nothing read yet: from the oldest batch.
    Start,
    /// Read up to this batch id (the next read starts after it).
    After(String),
    /// Read to the end.
    Done,
}

/// One [`ShardPosition`] per outbox shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxCursor {
    shards: Vec<ShardPosition>,
}

impl Default for OutboxCursor {
    fn default() -> Self {
        Self {
            shards: vec![ShardPosition::Start; OUTBOX_SHARDS as usize],
        }
    }
}

const START: &str = "";
const DONE: &str = "~";

impl OutboxCursor {
    /// A request's cursor: absent or empty is the start; anything this type did not encode is
    /// `400 invalid_param` naming `cursor`.
    pub fn parse(raw: Option<&str>) -> Result<Self> {
        match raw.map(str::trim).filter(|c| !c.is_empty()) {
            None => Ok(Self::default()),
            Some(c) => Self::decode(c),
        }
    }

    fn decode(cursor: &str) -> Result<Self> {
        let bad = || Error::invalid("cursor", "is not a cursor of this list");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| bad())?;
        let list: Vec<String> = serde_json::from_slice(&raw).map_err(|_| bad())?;
        if list.len() != OUTBOX_SHARDS as usize {
            return Err(bad());
        }
        let shards = list
            .into_iter()
            .enumerate()
            .map(|(shard, p)| match p.as_str() {
                START => Ok(ShardPosition::Start),
                DONE => Ok(ShardPosition::Done),
                id if EventBatch::shard_of_id(id) == u32::try_from(shard).ok() => {
                    Ok(ShardPosition::After(p))
                }
                _ => Err(bad()),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { shards })
    }

    pub fn encode(&self) -> String {
        let list: Vec<&str> = self
            .shards
            .iter()
            .map(|p| match p {
                ShardPosition::Start => START,
                ShardPosition::After(id) => id.as_str(),
                ShardPosition::Done => DONE,
            })
            .collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_string(&list).unwrap_or_default())
    }

    pub fn position(&self, shard: u32) -> &ShardPosition {
        self.shards
            .get(shard as usize)
            .unwrap_or(&ShardPosition::Done)
    }

    pub fn set(&mut self, shard: u32, p: ShardPosition) {
        if let Some(slot) = self.shards.get_mut(shard as usize) {
            *slot = p;
        }
    }

    /// Every shard read to its end.
    pub fn is_done(&self) -> bool {
        self.shards.iter().all(|p| *p == ShardPosition::Done)
    }

    /// The cursor to continue from when a page read from `self` to `read_to` was handled
    /// shard by shard and stopped in `shard`, after `last` (or before its first batch): the
    /// shards before it as `read_to`, `shard` after `last`, the later ones as `self`.
    pub fn stopped_at(&self, read_to: &Self, shard: u32, last: Option<&str>) -> Self {
        let mut out = self.clone();
        for s in 0..shard {
            out.set(s, read_to.position(s).clone());
        }
        if let Some(id) = last {
            out.set(shard, ShardPosition::After(id.to_string()));
        }
        out
    }

    /// `Some(self)` unless the walk is done.
    pub fn remaining(self) -> Option<Self> {
        (!self.is_done()).then_some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_in(shard: u32) -> String {
        loop {
            let b = EventBatch::new(vec![]);
            if b.shard == shard {
                return b.batch_id;
            }
        }
    }

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused() {
        let mut c = OutboxCursor::default();
        c.set(0, ShardPosition::Done);
        c.set(3, ShardPosition::After(id_in(3)));
        assert_eq!(OutboxCursor::parse(Some(&c.encode())).unwrap(), c);
        assert_eq!(OutboxCursor::parse(None).unwrap(), OutboxCursor::default());
        assert_eq!(
            OutboxCursor::parse(Some("")).unwrap(),
            OutboxCursor::default()
        );
        let wrong_shard = {
            let mut w = OutboxCursor::default();
            w.set(2, ShardPosition::After(id_in(3)));
            w.encode()
        };
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        for bad in [
            "not-base64!".to_string(),
            b64("{}"),
            b64(r#"["","",""]"#),
            b64(r#"["x","","","","","","",""]"#),
            wrong_shard,
        ] {
            let e = OutboxCursor::parse(Some(&bad)).unwrap_err();
            assert!(format!("{e:?}").contains("cursor"), "{bad}: {e:?}");
        }
    }

    #[test]
    fn a_walk_stopped_in_a_shard_resumes_there() {
        let from = OutboxCursor::default();
        let mut read_to = OutboxCursor::default();
        for s in 0..OUTBOX_SHARDS {
            read_to.set(s, ShardPosition::Done);
        }
        assert!(read_to.is_done());
        assert_eq!(read_to.clone().remaining(), None);
        let last = id_in(2);
        let next = from.stopped_at(&read_to, 2, Some(&last));
        assert_eq!(next.position(0), &ShardPosition::Done);
        assert_eq!(next.position(1), &ShardPosition::Done);
        assert_eq!(next.position(2), &ShardPosition::After(last));
        assert_eq!(next.position(3), &ShardPosition::Start);
        let next = from.stopped_at(&read_to, 2, None);
        assert_eq!(next.position(2), &ShardPosition::Start);
        assert!(next.remaining().is_some());
    }
}
