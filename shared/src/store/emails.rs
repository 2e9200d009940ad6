//! The `Emails` table: one item per address in use, keyed by its lower-cased form. Every
//! write that gives a user an address claims it here in the same transaction, with a
//! condition that it is free, so two racing requests can never both get it.

use super::{Reader, StoreError, WriteError, number, string};
use crate::values::Email;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

pub struct Emails<'a> {
    pub client: &'a Client,
    pub table: &'a str,
}

impl Emails<'_> {
    /// The user an address belongs to, if any.
    pub async fn owner(&self, normalized: &str) -> Result<Option<i64>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key("email", string(normalized))
            .consistent_read(true)
            .send()
            .await?;
        output
            .item()
            .map(|item| Reader(item).num("user_id"))
            .transpose()
    }

    /// What a write claiming `email` for a user comes to when DynamoDB kept cancelling it
    /// for concurrent transactions until its retries ran out: if the address now belongs
    /// to another user, the write lost a race for it; otherwise other writes kept its
    /// items busy.
    pub async fn after_conflicts(
        &self,
        email: &Email,
        user_id: i64,
        what: &'static str,
    ) -> WriteError {
        match self.owner(&email.normalized()).await {
            Ok(Some(owner)) if owner != user_id => WriteError::EmailTaken,
            Ok(_) => StoreError::Busy(what).into(),
            Err(error) => error.into(),
        }
    }

    /// Claims an address for a user unless another user holds it (theirs already is fine).
    pub fn claim_or_keep(
        &self,
        normalized: &str,
        user_id: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table)
            .item("email", string(normalized))
            .item("user_id", number(user_id))
            .condition_expression("attribute_not_exists(email) OR user_id = :user")
            .expression_attribute_values(":user", number(user_id))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Claims a free address for a user.
    pub fn claim(&self, normalized: &str, user_id: i64) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table)
            .item("email", string(normalized))
            .item("user_id", number(user_id))
            .condition_expression("attribute_not_exists(email)")
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Frees a user's address; refuses to free one that another user holds.
    pub fn release(&self, normalized: &str, user_id: i64) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table)
            .key("email", string(normalized))
            .condition_expression("attribute_not_exists(email) OR user_id = :user")
            .expression_attribute_values(":user", number(user_id))
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}
