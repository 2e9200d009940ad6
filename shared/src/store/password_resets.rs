//! Password reset tokens, by the SHA-256 of the token (the token itself exists only in
//! the email), with the user it resets and when it stops working. The account holds the
//! hash of its newest token, so a newer request replaces an older one; a reset deletes
//! its token in the transaction that sets the password, so a token works once.

use super::users::PasswordProof;
use super::{
    Db, Expression, Outcome, PRIORITY, Reader, Step, Steps, StoreError, WriteError, number,
    put_new_step, string,
};
use crate::domain::AuditEntry;

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
    pub(super) db: &'a Db,
}

impl PasswordResets<'_> {
    fn table(&self) -> &str {
        &self.db.tables.password_resets
    }

    /// Stores a new reset token for a user, as their newest, in one transaction.
    pub async fn issue(&self, user_id: i64, token_hash: &str, now: i64) -> Result<(), WriteError> {
        let item = super::Item::from([
            (attr::TOKEN_HASH.into(), string(token_hash)),
            (attr::USER_ID.into(), number(user_id)),
            (attr::EXPIRES_AT.into(), number(now + LIFETIME)),
            (attr::EXPIRES.into(), number(now + LIFETIME + TTL_GRACE)),
        ]);
        let mut steps = Steps::default();
        steps.push(
            Step::Record,
            put_new_step(self.table(), item, attr::TOKEN_HASH)?,
        );
        steps.push(
            Step::Account,
            self.db.users().hold_reset_token(user_id, token_hash)?,
        );
        match steps.run(&self.db.client, &PRIORITY).await? {
            Outcome::Written => Ok(()),
            Outcome::Conflict => Err(StoreError::Busy("issuing a password reset token").into()),
            refused => Err(StoreError::Malformed(format!(
                "issuing a reset token for user {user_id} was refused ({refused:?})"
            ))
            .into()),
        }
    }

    /// The user a token resets, if it is known and has not expired.
    pub async fn user_of(&self, token_hash: &str, now: i64) -> Result<Option<i64>, StoreError> {
        let output = self
            .db
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

    /// Sets a user's new password with a reset token, in one transaction that deletes the
    /// token (on condition that it is still there and live), sets the password (on
    /// condition that it is still the account's newest token) and records `audit`. False
    /// if the token was used, replaced or expired meanwhile: nothing is written then.
    pub async fn redeem(
        &self,
        token_hash: &str,
        user_id: i64,
        new_password_hash: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, WriteError> {
        let mut e = Expression::default();
        let (expires_at, now) = (e.name(attr::EXPIRES_AT), e.value(number(now)));
        e.condition(format!("{expires_at} >= {now}"));
        let redeem = e.delete_step(self.table(), (attr::TOKEN_HASH, string(token_hash)))?;
        let proof = PasswordProof::ResetToken(token_hash);
        let mut steps = Steps::default();
        steps.push(Step::Record, redeem);
        steps.push(
            Step::Account,
            self.db
                .users()
                .set_password(user_id, proof, new_password_hash)?,
        );
        steps.push(Step::Audit, self.db.audit().put(audit)?);
        match steps.run(&self.db.client, &PRIORITY).await? {
            Outcome::Written => Ok(true),
            Outcome::Refused { .. } => Ok(false),
            Outcome::Conflict => Err(StoreError::Busy("resetting a password").into()),
        }
    }
}
