//! The account sessions table: each user's sessions, an item per session keyed by the
//! user and the session's token hash, written in the transaction that opens the session.
//! Ending every session of a user reads this listing with a consistent Query, so that
//! every session opened before it is found (a GSI is eventually consistent).

use super::{Item, Reader, StoreError, every_page, number, put, send_through_conflicts, string};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use futures_util::{StreamExt, TryStreamExt};

/// Writes in flight at once when a user's sessions are taken off the listing.
const CONCURRENT_WRITES: usize = 16;

mod attr {
    pub const USER_ID: &str = "user_id";
    pub const TOKEN_HASH: &str = "token_hash";
    pub const EXPIRES: &str = "expires";
}

fn key(user_id: i64, token_hash: &str) -> Item {
    Item::from([
        (attr::USER_ID.into(), number(user_id)),
        (attr::TOKEN_HASH.into(), string(token_hash)),
    ])
}

/// A session's listing: its user, its token's hash and, for one that can expire, the
/// session's TTL backstop.
fn listing(user_id: i64, token_hash: &str, expires: Option<i64>) -> Item {
    let mut item = key(user_id, token_hash);
    if let Some(expires) = expires {
        item.insert(attr::EXPIRES.into(), number(expires));
    }
    item
}

pub struct AccountSessions<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl AccountSessions<'_> {
    /// The transaction step that lists a user's new session (`expires`: its TTL).
    pub fn list_step(
        &self,
        user_id: i64,
        token_hash: &str,
        expires: Option<i64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(listing(user_id, token_hash, expires)))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The transaction step that takes a session off its user's listing.
    pub fn unlist_step(
        &self,
        user_id: i64,
        token_hash: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table)
            .set_key(Some(key(user_id, token_hash)))
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Lists a session outside a transaction (moving an earlier release's listing).
    pub async fn list(
        &self,
        user_id: i64,
        token_hash: &str,
        expires: Option<i64>,
    ) -> Result<(), StoreError> {
        let item = listing(user_id, token_hash, expires);
        put(self.client, self.table, item, "listing a session").await
    }

    /// Takes ended sessions off their user's listing.
    pub async fn unlist(&self, user_id: i64, hashes: &[String]) -> Result<(), StoreError> {
        let (client, table) = (self.client, self.table);
        // Collected first: a stream over borrowed hashes is not `Send` for every lifetime.
        let keys: Vec<Item> = hashes.iter().map(|hash| key(user_id, hash)).collect();
        futures_util::stream::iter(keys)
            .map(|key| async move {
                send_through_conflicts("unlisting a session", || {
                    client
                        .delete_item()
                        .table_name(table)
                        .set_key(Some(key.clone()))
                        .send()
                })
                .await??;
                Ok::<_, StoreError>(())
            })
            .buffer_unordered(CONCURRENT_WRITES)
            .try_collect()
            .await
    }

    /// The hashes of the sessions a user's listing has, read consistently: every session
    /// opened before the read is there.
    pub async fn listed(&self, user_id: i64) -> Result<Vec<String>, StoreError> {
        let (client, table) = (self.client, self.table);
        let items = every_page(|start| async move {
            let page = client
                .query()
                .table_name(table)
                .key_condition_expression("#user = :user")
                .projection_expression("#hash")
                .expression_attribute_names("#user", attr::USER_ID)
                .expression_attribute_names("#hash", attr::TOKEN_HASH)
                .expression_attribute_values(":user", number(user_id))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
        })
        .await?;
        items
            .iter()
            .map(|item| Ok(Reader(item).str(attr::TOKEN_HASH)?.to_owned()))
            .collect()
    }
}
