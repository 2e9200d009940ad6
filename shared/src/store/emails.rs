//! The `Emails` table: one item per address in use, keyed by its lower-cased form. Every
//! write that gives a user an address claims it here in the same transaction, with a
//! condition that it is free, so two racing requests can never both get it.

use super::{Expression, Reader, StoreError, number, put_new_step, string};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

mod attr {
    pub const EMAIL: &str = "email";
    pub const USER_ID: &str = "user_id";
}

pub struct Emails<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Emails<'_> {
    /// The user an address belongs to, if any.
    pub async fn owner(&self, normalized: &str) -> Result<Option<i64>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key(attr::EMAIL, string(normalized))
            .consistent_read(true)
            .send()
            .await?;
        output
            .item()
            .map(|item| Reader(item).num(attr::USER_ID))
            .transpose()
    }

    /// Claims an address for a user unless another user holds it (theirs already is fine).
    pub fn claim_or_keep(
        &self,
        normalized: &str,
        user_id: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table)
            .item(attr::EMAIL, string(normalized))
            .item(attr::USER_ID, number(user_id))
            .condition_expression("attribute_not_exists(#email) OR #user = :user")
            .expression_attribute_names("#email", attr::EMAIL)
            .expression_attribute_names("#user", attr::USER_ID)
            .expression_attribute_values(":user", number(user_id))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Claims a free address for a user.
    pub fn claim(&self, normalized: &str, user_id: i64) -> Result<TransactWriteItem, StoreError> {
        let item = super::Item::from([
            (attr::EMAIL.into(), string(normalized)),
            (attr::USER_ID.into(), number(user_id)),
        ]);
        put_new_step(self.table, item, attr::EMAIL)
    }

    /// The transaction step that checks a user still holds an address (it has not moved
    /// to another address meanwhile), writing nothing.
    pub fn held_by(&self, normalized: &str, user_id: i64) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        let (user, value) = (e.name(attr::USER_ID), e.value(number(user_id)));
        e.condition(format!("{user} = {value}"));
        e.check_step(self.table, (attr::EMAIL, string(normalized)))
    }

    /// Frees a user's address; refuses to free one that another user holds.
    pub fn release(&self, normalized: &str, user_id: i64) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table)
            .key(attr::EMAIL, string(normalized))
            .condition_expression("attribute_not_exists(#email) OR #user = :user")
            .expression_attribute_names("#email", attr::EMAIL)
            .expression_attribute_names("#user", attr::USER_ID)
            .expression_attribute_values(":user", number(user_id))
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}
