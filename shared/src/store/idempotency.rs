//! Idempotency keys: what a create answered, kept for [`WINDOW`], so that a client that
//! lost the answer can ask again with the same `Idempotency-Key` and hear the same answer
//! without the work being done twice.
//!
//! A key's record is written in the same transaction as the work it stands for, with a
//! condition that no live record of the key exists: of two requests racing with one key,
//! one does the work and the other replays its answer. The record never holds a secret:
//! parameters are kept as a hash, a password only as the account it was checked against,
//! and a session as its token's hash.

use super::{
    Expression, Item, Reader, StoreError, number, send_through_conflicts, string, update_if,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde_json::Value;

/// How long a key's answer is kept.
pub const WINDOW: i64 = 24 * 60 * 60;
/// DynamoDB's TTL deletes an item up to days after its time; reads check the window.
const TTL_GRACE: i64 = 24 * 60 * 60;

mod attr {
    pub const KEY: &str = "key";
    pub const FINGERPRINT: &str = "fingerprint";
    pub const CREATED_AT: &str = "created_at";
    pub const EXPIRES: &str = "expires";
    pub const STATUS: &str = "status";
    pub const DATA: &str = "data";
    pub const USER_ID: &str = "user_id";
    pub const SESSION_HASH: &str = "session_hash";
}

/// A key as one request presents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The hash of the route, the caller's token and the key: a key is the caller's own.
    pub key_hash: String,
    /// The hash of the request's parameters, bar the token and the password.
    pub fingerprint: String,
}

/// What the first request with a key answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The status slug.
    pub status: String,
    /// The answer's `data`, as the first request showed it.
    pub data: Option<Value>,
    /// The account whose password the request carried: a replay must carry it too.
    pub user_id: Option<i64>,
    /// The hash of the token of the session the request opened.
    pub session_hash: Option<String>,
}

/// A key's record, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub fingerprint: String,
    pub created_at: i64,
    pub answer: Answer,
}

pub struct Idempotency<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Idempotency<'_> {
    /// The transaction step that records `answer` for `key` with the work, unless a live
    /// record of the key exists (one older than the window may be replaced).
    pub fn claim(
        &self,
        key: &IdempotencyKey,
        answer: &Answer,
        now: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = Item::from([
            (attr::KEY.into(), string(&key.key_hash)),
            (attr::FINGERPRINT.into(), string(&key.fingerprint)),
            (attr::CREATED_AT.into(), number(now)),
            (attr::EXPIRES.into(), number(now + WINDOW + TTL_GRACE)),
            (attr::STATUS.into(), string(&answer.status)),
        ]);
        if let Some(data) = &answer.data {
            item.insert(attr::DATA.into(), string(data.to_string()));
        }
        if let Some(user_id) = answer.user_id {
            item.insert(attr::USER_ID.into(), number(user_id));
        }
        if let Some(hash) = &answer.session_hash {
            item.insert(attr::SESSION_HASH.into(), string(hash));
        }
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#key) OR #created_at < :window_start")
            .expression_attribute_names("#key", attr::KEY)
            .expression_attribute_names("#created_at", attr::CREATED_AT)
            .expression_attribute_values(":window_start", number(now - WINDOW))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The live record of a key, read consistently.
    pub async fn find(&self, key_hash: &str, now: i64) -> Result<Option<Recorded>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key(attr::KEY, string(key_hash))
            .consistent_read(true)
            .send()
            .await?;
        let Some(item) = output.item() else {
            return Ok(None);
        };
        let recorded = Recorded::from_item(item)?;
        Ok((recorded.created_at >= now - WINDOW).then_some(recorded))
    }

    /// Records that the work's answer turned out otherwise than claimed (the photographer
    /// was created, and then the welcome email failed).
    pub async fn set_status(&self, key_hash: &str, status: &str) -> Result<(), StoreError> {
        let mut e = Expression::default();
        e.set(attr::STATUS, string(status));
        let key = e.name(attr::KEY);
        e.condition(format!("attribute_exists({key})"));
        // A record gone by now (past its window) has no one left to answer.
        update_if(self.client, self.table, (attr::KEY, string(key_hash)), &e).await?;
        Ok(())
    }

    /// Takes back the record `claim` (this store's [`Idempotency::claim`] step) wrote
    /// with a session that was then refused after all (ended before it was answered), so
    /// that the key is free again, as though the request had changed nothing. Nothing to
    /// do if the record is gone or stands for another session.
    pub async fn release(
        &self,
        claim: &TransactWriteItem,
        session_hash: &str,
    ) -> Result<(), StoreError> {
        let Some(key) = claim.put().and_then(|put| put.item().get(attr::KEY)) else {
            return Err(StoreError::Malformed("a claim without its key".into()));
        };
        let deleted = send_through_conflicts("releasing an idempotency key", || {
            self.client
                .delete_item()
                .table_name(self.table)
                .key(attr::KEY, key.clone())
                .condition_expression("#session = :hash")
                .expression_attribute_names("#session", attr::SESSION_HASH)
                .expression_attribute_values(":hash", string(session_hash))
                .send()
        })
        .await?;
        match deleted {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The transaction step that points a key's record at the session's new token hash,
    /// unless another replay moved it first.
    pub fn move_session(
        &self,
        key_hash: &str,
        from: &str,
        to: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(self.table)
            .key(attr::KEY, string(key_hash))
            .update_expression("SET #session = :to")
            .condition_expression("#session = :from")
            .expression_attribute_names("#session", attr::SESSION_HASH)
            .expression_attribute_values(":from", string(from))
            .expression_attribute_values(":to", string(to))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl Recorded {
    fn from_item(item: &Item) -> Result<Recorded, StoreError> {
        let read = Reader(item);
        let data = read
            .opt_str(attr::DATA)
            .map(serde_json::from_str)
            .transpose()
            .map_err(|_| {
                StoreError::Malformed("an idempotency record's data is not JSON".into())
            })?;
        Ok(Recorded {
            fingerprint: read.str(attr::FINGERPRINT)?.to_owned(),
            created_at: read.num(attr::CREATED_AT)?,
            answer: Answer {
                status: read.str(attr::STATUS)?.to_owned(),
                data,
                user_id: read.opt_num(attr::USER_ID)?,
                session_hash: read.opt_str(attr::SESSION_HASH).map(str::to_owned),
            },
        })
    }
}
