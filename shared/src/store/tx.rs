//! Transactions: items are built here (puts, conditional deletes, checks, updates) and run
//! together; refused conditions come back as the caller's tags.

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use super::{key, names_map, values_map, Item, Table};
use crate::aws::{OrUnavailable, TX_CONDITION_FAILED};
use crate::error::{Error, Result};

/// Outcome of a transaction whose conditions may fail: `Err(tags)` names the items whose
/// condition failed (empty when DynamoDB reported a conflicting concurrent transaction).
pub type TxResult<T> = std::result::Result<(), Vec<T>>;

/// A `$builder` (`Delete` or `ConditionCheck`, which share no trait) of the item at `$pk`/`$sk`
/// in `$table`, on the condition that the item exists.
macro_rules! if_exists {
    ($builder:ident, $table:expr, $pk:expr, $sk:expr) => {
        $builder::builder()
            .table_name($table)
            .set_key(Some(key($pk, $sk)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::dep)
    };
}

impl Table {
    /// Runs a transaction; conditional failures come back as the tags of the failed items.
    pub async fn transact<T>(&self, items: Vec<(T, TransactWriteItem)>) -> Result<TxResult<T>> {
        let (tags, writes): (Vec<T>, Vec<TransactWriteItem>) = items.into_iter().unzip();
        if writes.is_empty() {
            return Ok(Ok(()));
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Ok(())),
            Err(err) => err,
        };
        match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(ex)) => {
                let reasons = ex.cancellation_reasons();
                // Anything but refused conditions and conflicts (throttling, a too-large item,
                // a validation error) is a failure, not a reason to re-plan.
                let only_conflicts = reasons.iter().all(|r| {
                    matches!(
                        r.code(),
                        None | Some("None" | TX_CONDITION_FAILED | "TransactionConflict")
                    )
                });
                if !only_conflicts {
                    return Err(err).or_unavailable("TransactWriteItems");
                }
                Ok(Err(reasons
                    .iter()
                    .zip(tags)
                    .filter(|(r, _)| r.code() == Some(TX_CONDITION_FAILED))
                    .map(|(_, tag)| tag)
                    .collect()))
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => Ok(Err(vec![])),
            _ => Err(err).or_unavailable("TransactWriteItems"),
        }
    }

    // --- transaction item builders -------------------------------------------------------

    pub fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub fn put_new(&self, item: Item) -> Result<TransactWriteItem> {
        self.put(item, Some("attribute_not_exists(pk)"))
    }

    /// A put that creates the item unless a live one holds its key (an item whose
    /// `expires_at` has passed, not yet removed by TTL, is replaced): idempotency records.
    pub fn put_unless_live(&self, item: Item) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", super::n(jiff::Timestamp::now().as_second()))
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A put that creates (the item must be new) or replaces (it must exist).
    pub fn put_creating(&self, item: Item, creating: bool) -> Result<TransactWriteItem> {
        if creating {
            self.put_new(item)
        } else {
            self.put(item, Some("attribute_exists(pk)"))
        }
    }

    pub fn delete_existing(&self, pk: &str, sk: &str) -> Result<TransactWriteItem> {
        let del = if_exists!(Delete, &self.name, pk, sk)?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    /// Deletes an item whether or not it exists.
    pub fn delete(&self, pk: &str, sk: &str) -> Result<TransactWriteItem> {
        let del = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    pub fn check_exists(&self, pk: &str, sk: &str) -> Result<TransactWriteItem> {
        let check = if_exists!(ConditionCheck, &self.name, pk, sk)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    pub fn update(
        &self,
        pk: &str,
        sk: &str,
        expression: &str,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_names(names_map(names))
            .set_expression_attribute_values(values_map(values))
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
