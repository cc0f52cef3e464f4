//! Application passwords: `pk = APPPW`, `sk = {id:012}` (the record: name, scope, argon2id
//! hash, times), and a name claim `APPPWNAME#{name}` written and deleted in the same
//! transaction, so names are unique by a DynamoDB condition.

use serde::{Deserialize, Serialize};

use super::keys;
use super::{from_item, n, repository, s, to_item, QuerySpec};
use crate::domain::app_password::AppPassword;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct RecordItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    data: AppPassword,
}

#[derive(Serialize, Deserialize)]
struct NameItem {
    pk: String,
    sk: String,
    id: i64,
}

/// Why a creation did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    NameTaken,
}

repository!(
    /// Application passwords: one item per password, and a claim on its name.
    AppPasswordRepo
);

impl AppPasswordRepo {
    /// The next application password id.
    pub async fn next_id(&self) -> Result<i64> {
        self.table.next_id("app_password").await
    }

    pub async fn get(&self, id: i64) -> Result<Option<AppPassword>> {
        Ok(self
            .table
            .get_as::<RecordItem>(keys::APP_PASSWORDS, &keys::id_sk(id))
            .await?
            .map(|r| r.data))
    }

    pub async fn list(&self, req: &PageRequest) -> Result<Page<AppPassword>> {
        let page = self
            .table
            .page(&QuerySpec::table(keys::APP_PASSWORDS), req)
            .await?;
        page.try_map(|i| from_item::<RecordItem>(i).map(|r| r.data))
    }

    /// Writes the record and the name claim together; a taken name writes nothing.
    pub async fn create(&self, p: &AppPassword) -> Result<CreateOutcome> {
        let record = to_item(&RecordItem {
            pk: keys::APP_PASSWORDS.into(),
            sk: keys::id_sk(p.id),
            data: p.clone(),
        })?;
        let claim = to_item(&NameItem {
            pk: keys::app_password_name(&p.name),
            sk: keys::APP_PASSWORD_NAME_SK.into(),
            id: p.id,
        })?;
        let items = vec![
            ("record", self.table.put_new(record)?),
            ("name", self.table.put_new(claim)?),
        ];
        match self.table.transact(items).await? {
            Ok(()) => Ok(CreateOutcome::Created),
            Err(failed) if failed.contains(&"name") => Ok(CreateOutcome::NameTaken),
            Err(_) => Err(Error::Conflict(
                "A concurrent change interfered; retry.".into(),
            )),
        }
    }

    /// Deletes the record and its name claim together; `false` when it did not exist.
    pub async fn delete(&self, id: i64) -> Result<bool> {
        let Some(p) = self.get(id).await? else {
            return Ok(false);
        };
        let items = vec![
            (
                "record",
                self.table
                    .delete_existing(keys::APP_PASSWORDS, &keys::id_sk(id))?,
            ),
            (
                "name",
                self.table.delete_existing(
                    &keys::app_password_name(&p.name),
                    keys::APP_PASSWORD_NAME_SK,
                )?,
            ),
        ];
        Ok(self.table.transact(items).await?.is_ok())
    }

    /// Sets `last_used_at` to `now` (Unix seconds) unless it was set less than `min_interval`
    /// seconds ago (or the password was deleted meanwhile).
    pub async fn touch(&self, id: i64, now: i64, min_interval: i64) -> Result<()> {
        let at = jiff::Timestamp::from_second(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        self.table.update_if(
            keys::APP_PASSWORDS,
            &keys::id_sk(id),
            "SET last_used_at = :at, last_used_epoch = :now",
            "attribute_exists(pk) AND (attribute_not_exists(last_used_epoch) OR last_used_epoch < :cutoff)",
            &[],
            vec![
                (":at", s(time::rfc3339(at))),
                (":now", n(now)),
                (":cutoff", n(now - min_interval)),
            ],
        )
        .await
        .map(|_| ())
    }
}
