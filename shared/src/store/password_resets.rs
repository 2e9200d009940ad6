//! Password reset tokens, by the SHA-256 of the token (the token itself exists only in
//! the email), with the user it resets and when it stops working. The account holds the
//! hash of its newest token, so a newer request replaces an older one; a reset deletes
//! its token in the transaction that sets the password, so a token works once.

use super::{Expression, Item, Reader, StoreError, number, put_new_step, string};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::TransactWriteItem;

/// How long a reset token works after it was sent.
pub const LIFETIME: i64 = 30 * 60;
/// DynamoDB's TTL removes expired tokens up to days late; reads check `expires_at`.
const TTL_GRACE: i64 = 24 * 60 * 60;

mod attr {
    pub const TOKEN_HASH: &str = "token_hash";
    pub const USER_ID: &str = "user_id";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const EXPIRES: &str = "expires";
}

pub struct PasswordResets<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl PasswordResets<'_> {
    fn table(&self) -> &str {
        self.table
    }

    /// The transaction step that stores a new reset token for a user (the account's
    /// note of it as the newest is the users store's step).
    pub fn put_step(
        &self,
        user_id: i64,
        token_hash: &str,
        now: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = Item::from([
            (attr::TOKEN_HASH.into(), string(token_hash)),
            (attr::USER_ID.into(), number(user_id)),
            (attr::EXPIRES_AT.into(), number(now + LIFETIME)),
            (attr::EXPIRES.into(), number(now + LIFETIME + TTL_GRACE)),
        ]);
        put_new_step(self.table(), item, attr::TOKEN_HASH)
    }

    /// The user a token resets, if it is known and has not expired.
    pub async fn user_of(&self, token_hash: &str, now: i64) -> Result<Option<i64>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .key(attr::TOKEN_HASH, string(token_hash))
            .consistent_read(true)
            .send()
            .await?;
        let Some(item) = output.item() else {
            return Ok(None);
        };
        let read = Reader(item);
        (now <= read.num(attr::EXPIRES_AT)?)
            .then(|| read.num(attr::USER_ID))
            .transpose()
    }

    /// The transaction step that uses a token up: it deletes it, on condition that it is
    /// still there and live at `now`, so that a token works once.
    pub fn redeem_step(&self, token_hash: &str, now: i64) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        let (expires_at, now) = (e.name(attr::EXPIRES_AT), e.value(number(now)));
        e.condition(format!("{expires_at} >= {now}"));
        e.delete_step(self.table(), (attr::TOKEN_HASH, string(token_hash)))
    }
}
