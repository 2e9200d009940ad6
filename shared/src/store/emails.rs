//! The `Emails` table: one item per address in use, keyed by its lower-cased form. Every
//! write that gives a user an address claims it here in the same transaction, with a
//! condition that it is free, so two racing requests can never both get it.

use super::{StoreError, number, string};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

pub struct Emails<'a> {
    pub table: &'a str,
}

impl Emails<'_> {
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
