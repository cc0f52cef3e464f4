//! Payment providers' objects (an order, a subscription) and their customers.
//!
//! `IWH#{webhook}#OBJ#{object}` holds the last state seen of one object (its revision guards
//! concurrent events); `CUSTOMER#{source}#{customer}` maps a provider's customer id to an email.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys;
use super::{from_item, n, repository, to_item};
use crate::domain::incoming::providers::Source;
use crate::domain::incoming::rules::ObjectState;
use crate::error::{Error, Result};

repository!(
    /// Provider objects' states and customer ids.
    ProviderRepo
);

#[derive(Serialize, Deserialize)]
struct ObjectItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    state: ObjectState,
}

#[derive(Serialize, Deserialize)]
struct CustomerItem {
    pk: String,
    sk: String,
    email: String,
}

impl ProviderRepo {
    /// The states of the provider objects an event names (one BatchGetItem).
    pub async fn object_states(
        &self,
        webhook_id: i64,
        objects: &[String],
    ) -> Result<Vec<ObjectState>> {
        if objects.is_empty() {
            return Ok(vec![]);
        }
        let keys = objects
            .iter()
            .map(|o| {
                super::key(
                    keys::provider_object(webhook_id, o),
                    keys::PROVIDER_OBJECT_SK,
                )
            })
            .collect();
        self.table
            .batch_get(keys, None)
            .await?
            .into_iter()
            .map(|i| from_item::<ObjectItem>(i).map(|o| o.state))
            .collect()
    }

    /// Writes an object's new state, only if it is still at `prev` (0: absent).
    pub fn put_object_state(
        &self,
        webhook_id: i64,
        state: &ObjectState,
        prev: i64,
    ) -> Result<TransactWriteItem> {
        let item = to_item(&ObjectItem {
            pk: keys::provider_object(webhook_id, &state.object),
            sk: keys::PROVIDER_OBJECT_SK.into(),
            state: state.clone(),
        })?;
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table.name)
            .set_item(Some(item));
        let put = if prev == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("#rev = :rev")
                .expression_attribute_names("#rev", "rev")
                .expression_attribute_values(":rev", n(prev))
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(Error::dep)?)
            .build())
    }

    /// The member email recorded for a provider customer id.
    pub async fn customer_email(&self, source: Source, customer: &str) -> Result<Option<String>> {
        let pk = keys::provider_customer(source.name(), customer);
        Ok(self
            .table
            .get_as::<CustomerItem>(&pk, keys::PROVIDER_CUSTOMER_SK)
            .await?
            .map(|c| c.email))
    }

    /// Records a provider customer id's email, unless one is recorded already.
    pub async fn map_customer(&self, source: Source, customer: &str, email: &str) -> Result<()> {
        let item = to_item(&CustomerItem {
            pk: keys::provider_customer(source.name(), customer),
            sk: keys::PROVIDER_CUSTOMER_SK.into(),
            email: email.to_string(),
        })?;
        self.table.put_absent(item).await.map(|_| ())
    }
}

impl ProviderRepo {
    /// Records provider objects' states outside an execution (a revoke that found no member).
    pub async fn put_object_states(
        &self,
        webhook_id: i64,
        states: &[(ObjectState, i64)],
    ) -> Result<()> {
        let items = states
            .iter()
            .map(|(s, prev)| Ok(((), self.put_object_state(webhook_id, s, *prev)?)))
            .collect::<Result<Vec<_>>>()?;
        self.table.transact(items).await?.map_err(|_| {
            Error::Dependency("a concurrent event changed the same provider object; retry".into())
        })
    }
}
