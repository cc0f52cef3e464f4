//! Idempotency records of `POST /admin/events` (docs/reference/outgoing.md#publishing-events):
//! `PUBLISH#{key hash}` / `PUBLISH`, written in the publish's own outbox transaction, expiring
//! after the idempotency window.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::{keys, repository, to_item};
use crate::error::Result;

/// What a first publish answered, and the body it answered for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublishRecord {
    pub event_id: String,
    /// The body's fingerprint (`domain::publish::fingerprint`).
    pub body: String,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct PublishItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    r: PublishRecord,
}

repository!(
    /// Idempotency records of published events.
    PublishRepo
);

impl PublishRepo {
    /// The first publish's record; the transaction fails on it if a live record has the key
    /// (an expired one, not yet removed by TTL, is replaced).
    pub fn put_first(&self, key_hash: &str, r: &PublishRecord) -> Result<TransactWriteItem> {
        let item = to_item(&PublishItem {
            pk: keys::publish(key_hash),
            sk: keys::PUBLISH_SK.into(),
            r: r.clone(),
        })?;
        self.table.put_unless_live(item)
    }

    /// The live record of a key (read only after `put_first` was refused).
    pub async fn get(&self, key_hash: &str) -> Result<Option<PublishRecord>> {
        let now = jiff::Timestamp::now().as_second();
        Ok(self
            .table
            .get_as::<PublishItem>(&keys::publish(key_hash), keys::PUBLISH_SK)
            .await?
            .map(|i| i.r)
            .filter(|r| r.expires_at > now))
    }
}
