//! Payment providers' objects (an order, a subscription) and their customers.
//!
//! `IWH#{webhook}#OBJ#{object}` holds the last state seen of one object (its revision guards
//! concurrent events); `IWH#{webhook}#CUSTOMER#{source}:{customer}` maps a provider's customer
//! id to an email within one incoming webhook, and a reference item in the member's partition
//! (`MEMBER#{email}` / `CUSTOMER#{webhook}#{source}:{customer}`) lets erasure find the maps.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys;
use super::{from_item, n, repository, to_item, QuerySpec};
use crate::aws::UnlessConditionFailed;
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

/// A customer map's reference in the member's partition.
#[derive(Serialize, Deserialize)]
struct CustomerRef {
    pk: String,
    sk: String,
    map_pk: String,
}

/// Where a member's customer map and its reference are (erasure deletes both).
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerMapRef {
    map_pk: String,
    ref_sk: String,
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

    /// The member email recorded for a provider customer id by this incoming webhook.
    pub async fn customer_email(
        &self,
        webhook_id: i64,
        source: Source,
        customer: &str,
    ) -> Result<Option<String>> {
        let pk = keys::provider_customer(webhook_id, source.into(), customer);
        Ok(self
            .table
            .get_as::<CustomerItem>(&pk, keys::PROVIDER_CUSTOMER_SK)
            .await?
            .map(|c| c.email))
    }

    /// Records (or moves) a provider customer id's email within one incoming webhook, with its
    /// reference in the member's partition, in one transaction.
    pub async fn map_customer(
        &self,
        webhook_id: i64,
        source: Source,
        customer: &str,
        email: &str,
    ) -> Result<()> {
        let map = to_item(&CustomerItem {
            pk: keys::provider_customer(webhook_id, source.into(), customer),
            sk: keys::PROVIDER_CUSTOMER_SK.into(),
            email: email.to_string(),
        })?;
        let reference = to_item(&CustomerRef {
            pk: keys::member(email),
            sk: keys::member_customer_sk(webhook_id, source.into(), customer),
            map_pk: keys::provider_customer(webhook_id, source.into(), customer),
        })?;
        let items = vec![
            ((), self.table.put(map, None)?),
            ((), self.table.put(reference, None)?),
        ];
        self.table.transact(items).await?.map_err(|_| {
            Error::Dependency("a concurrent event mapped the same customer; retry".into())
        })
    }

    /// The customer maps that were ever pointed at `email` (the references in its partition).
    pub async fn customers_of(&self, email: &str) -> Result<Vec<CustomerMapRef>> {
        let spec = QuerySpec::table(keys::member(email)).prefix(keys::MEMBER_CUSTOMER_PREFIX);
        self.table
            .query_all(&spec)
            .await?
            .into_iter()
            .map(|i| {
                from_item::<CustomerRef>(i).map(|r| CustomerMapRef {
                    map_pk: r.map_pk,
                    ref_sk: r.sk,
                })
            })
            .collect()
    }

    /// Deletes a customer map, only while it still maps to `email` (a later event may have
    /// moved it to another member), and its reference in `email`'s partition.
    pub async fn forget_customer(&self, email: &str, r: &CustomerMapRef) -> Result<()> {
        let deleted = self
            .table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .set_key(Some(super::key(
                r.map_pk.clone(),
                keys::PROVIDER_CUSTOMER_SK,
            )))
            .condition_expression("email = :e")
            .expression_attribute_values(":e", super::s(email))
            .send()
            .await;
        deleted.unless_condition_failed("DeleteItem")?;
        self.table
            .delete_all(vec![super::key(keys::member(email), r.ref_sk.clone())])
            .await
            .map(|_| ())
    }

    /// Deletes provider objects' states (erasure: the objects that granted a member access).
    pub async fn forget_objects(&self, objects: &[(i64, String)]) -> Result<usize> {
        let keys = objects
            .iter()
            .map(|(w, o)| super::key(keys::provider_object(*w, o), keys::PROVIDER_OBJECT_SK))
            .collect();
        self.table.delete_all(keys).await
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
