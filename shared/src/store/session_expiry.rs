//! Sessions' expiry, the cleanup's concern of the sessions table: the sessions that can
//! expire (not `remember_me`) are in two indexes, by last use and by creation, so that
//! the cleanup finds expired ones without a Scan, and deletes each on condition that it
//! is still expired.

use super::sessions::attr;
use super::{Expression, Item, Reader, StoreError, number, send_through_conflicts, string};
use crate::domain::{ABSOLUTE_LIFETIME, IDLE_LIFETIME};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

/// The indexes, spread over shards so that no index partition takes every session's
/// writes.
pub const IDLE_INDEX: &str = "by-last-use";
pub const AGE_INDEX: &str = "by-creation";
pub const EXPIRY_SHARDS: u32 = 8;

pub struct SessionExpiry<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl SessionExpiry<'_> {
    /// One page of sessions that an expiry index says are past `cutoff` (last use or
    /// creation, by index) in one shard. The index is eventually consistent, so the
    /// delete re-checks.
    pub async fn expiry_candidates(
        &self,
        index: &str,
        shard: u32,
        cutoff: i64,
        start: Option<Item>,
    ) -> Result<(Vec<AttributeValue>, Option<Item>), StoreError> {
        let sort_key = if index == IDLE_INDEX {
            attr::LAST_USED_AT
        } else {
            attr::CREATED_AT
        };
        let page = self
            .client
            .query()
            .table_name(self.table)
            .index_name(index)
            .key_condition_expression("#shard = :shard AND #at < :cutoff")
            .expression_attribute_names("#shard", attr::EXPIRY_SHARD)
            .expression_attribute_names("#at", sort_key)
            .expression_attribute_values(":shard", string(shard.to_string()))
            .expression_attribute_values(":cutoff", number(cutoff))
            .limit(100)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let hashes = page
            .items()
            .iter()
            .filter_map(|item| item.get(attr::TOKEN_HASH).cloned())
            .collect();
        Ok((hashes, page.last_evaluated_key().cloned()))
    }

    /// Deletes a session if it is expired at `now`: the condition is the exact opposite of
    /// the one that lets a session be used, so a session used meanwhile, a `remember_me`
    /// one, or one already deleted by a concurrent run is left alone. `None` if it left
    /// it, else what it deleted: the session's token hash and its user.
    pub async fn delete_if_expired(
        &self,
        token_hash: AttributeValue,
        now: i64,
    ) -> Result<Option<(String, Option<i64>)>, StoreError> {
        let mut e = Expression::default();
        let (hash, remember, created, used) = (
            e.name(attr::TOKEN_HASH),
            e.name(attr::REMEMBER_ME),
            e.name(attr::CREATED_AT),
            e.name(attr::LAST_USED_AT),
        );
        let (no, oldest_creation, oldest_use) = (
            e.value(AttributeValue::Bool(false)),
            e.value(number(now - ABSOLUTE_LIFETIME)),
            e.value(number(now - IDLE_LIFETIME)),
        );
        e.condition(format!(
            "attribute_exists({hash}) AND (attribute_not_exists({remember}) OR {remember} = {no}) \
             AND ({created} < {oldest_creation} OR {used} < {oldest_use})"
        ));
        let result = send_through_conflicts("deleting an expired session", || {
            self.client
                .delete_item()
                .table_name(self.table)
                .key(attr::TOKEN_HASH, token_hash.clone())
                .set_condition_expression(e.condition_expression())
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .return_values(ReturnValue::AllOld)
                .send()
        })
        .await?;
        match result {
            Ok(output) => {
                let old = output.attributes().map(Reader);
                let hash = old.as_ref().and_then(|old| old.opt_str(attr::TOKEN_HASH));
                let user = old
                    .as_ref()
                    .map(|old| old.opt_num(attr::USER_ID))
                    .transpose()?;
                Ok(Some((hash.unwrap_or_default().to_owned(), user.flatten())))
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }
}
