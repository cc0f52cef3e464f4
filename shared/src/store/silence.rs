//! Silence alerts (docs/reference/incoming.md#silence-alerts): the due index on incoming webhooks'
//! main items (`gsi2`, `SILENCE` / `{due}#{id}`, written by [`super::IncomingRepo`]) and the open
//! alerts (`SILENCED` / `{id}`), one per silent webhook.
//!
//! Every state change is conditional: an alert opens only if the due entry is still the one the
//! sweep read (so a call that arrived meanwhile, or a concurrent sweep, wins) and only if no
//! alert is open; it closes only if it is still open. One alert per silence, one resumption.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::query::QuerySpec;
use super::{keys, repository, s, to_item};
use crate::error::Result;

/// An overdue entry of the silence index, as the index holds it (keys only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overdue {
    pub webhook_id: i64,
    /// The index sort key read, the condition of every change the sweep makes.
    pub due_sk: String,
}

/// An open silence alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSilence {
    pub webhook_id: i64,
    pub title: String,
    /// The last accepted call before the silence (`None`: never called).
    #[serde(default, with = "crate::domain::time::wire::option")]
    pub last_call_at: Option<jiff::Timestamp>,
    #[serde(with = "crate::domain::time::wire")]
    pub silent_at: jiff::Timestamp,
}

#[derive(Serialize, Deserialize)]
struct SilencedItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    s: OpenSilence,
}

/// What each write of opening an alert protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SilenceTag {
    /// The due entry moved (a call arrived, or another sweep took it).
    Due,
    /// An alert is already open for this webhook.
    Open,
    Other,
}

repository!(
    /// The silence index and open silence alerts of incoming webhooks.
    SilenceRepo
);

impl SilenceRepo {
    /// Index entries due before `now` (RFC 3339), oldest first, at most `limit` (no Scan).
    pub async fn overdue(&self, now: &str, limit: i32) -> Result<Vec<Overdue>> {
        let spec = QuerySpec::gsi2(keys::SILENCE).before(now);
        let items = self.table.first(&spec, limit).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = item.get("sk")?.as_s().ok()?;
                Some(Overdue {
                    webhook_id: sk.parse().ok()?,
                    due_sk: item.get("gsi2sk")?.as_s().ok()?.clone(),
                })
            })
            .collect())
    }

    /// Open alerts, at most `limit`.
    pub async fn open(&self, limit: i32) -> Result<Vec<OpenSilence>> {
        let spec = QuerySpec::table(keys::SILENCED);
        self.table
            .first(&spec, limit)
            .await?
            .into_iter()
            .map(|i| super::from_item::<SilencedItem>(i).map(|i| i.s))
            .collect()
    }

    /// Opening an alert: the due entry leaves the index (only if unchanged since read) and the
    /// open alert is recorded (only if none is open).
    pub fn open_items(
        &self,
        due: &Overdue,
        alert: &OpenSilence,
    ) -> Result<Vec<(SilenceTag, TransactWriteItem)>> {
        Ok(vec![
            (SilenceTag::Due, self.drop_due_item(due)?),
            (
                SilenceTag::Open,
                self.table.put_new(to_item(&SilencedItem {
                    pk: keys::SILENCED.into(),
                    sk: keys::id_sk(alert.webhook_id),
                    s: alert.clone(),
                })?)?,
            ),
        ])
    }

    /// Takes a due entry out of the index (only if unchanged since read).
    pub fn drop_due_item(&self, due: &Overdue) -> Result<TransactWriteItem> {
        self.table.update(
            keys::IWH,
            &keys::id_sk(due.webhook_id),
            "REMOVE gsi2pk, gsi2sk",
            Some("gsi2sk = :seen"),
            &[],
            vec![(":seen", s(&due.due_sk))],
        )
    }

    /// Moves a due entry to a later due time (the webhook was called after all, or an alert is
    /// already open); `false` when it moved meanwhile.
    pub async fn move_due(&self, due: &Overdue, next: Option<&str>) -> Result<bool> {
        let (expression, mut values) = match next {
            Some(d) => (
                "SET gsi2sk = :next",
                vec![(":next", s(keys::silence_sk(d, due.webhook_id)))],
            ),
            None => ("REMOVE gsi2pk, gsi2sk", vec![]),
        };
        values.push((":seen", s(&due.due_sk)));
        Ok(self
            .table
            .update_if(
                keys::IWH,
                &keys::id_sk(due.webhook_id),
                expression,
                "gsi2sk = :seen",
                &[],
                values,
            )
            .await?
            .is_some())
    }

    /// Closing an alert (only while it is open).
    pub fn close_item(&self, webhook_id: i64) -> Result<TransactWriteItem> {
        self.table
            .delete_existing(keys::SILENCED, &keys::id_sk(webhook_id))
    }
}
