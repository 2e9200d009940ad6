//! Client records: the people PlanoAuth's applications serve, keyed by their user's id.

use super::{Item, Reader, StoreError, audit, number, put_new_step, string};
use crate::domain::{Client, Email, FieldChange};
use aws_sdk_dynamodb::types::TransactWriteItem;
use std::collections::BTreeMap;

mod attr {
    pub const ID: &str = "id";
    pub const EMAIL: &str = "email";
    pub const EMAIL_NORMALIZED: &str = "email_normalized";
    pub const FIRST_NAME: &str = "first_name";
    pub const LAST_NAME: &str = "last_name";
    pub const PHONE: &str = "phone";
    pub const COMPANY: &str = "company";
    pub const LANGUAGE: &str = "language";
    pub const CREATED_AT: &str = "created_at";
    pub const UPDATED_AT: &str = "updated_at";
}

/// What an audit record leaves out: the key and the bookkeeping the store keeps.
const BOOKKEEPING: [&str; 4] = [
    attr::ID,
    attr::EMAIL_NORMALIZED,
    attr::CREATED_AT,
    attr::UPDATED_AT,
];

fn item_of(record: &Client, email: &Email) -> Item {
    let mut item = Item::from([
        (attr::ID.into(), number(record.id)),
        (attr::EMAIL.into(), string(&record.email)),
        (attr::EMAIL_NORMALIZED.into(), string(email.normalized())),
        (attr::FIRST_NAME.into(), string(&record.first_name)),
        (attr::LAST_NAME.into(), string(&record.last_name)),
        (attr::PHONE.into(), string(&record.phone)),
        (attr::LANGUAGE.into(), string(&record.language)),
        (attr::CREATED_AT.into(), number(record.created_at)),
        (attr::UPDATED_AT.into(), number(record.updated_at)),
    ]);
    if let Some(company) = &record.company {
        item.insert(attr::COMPANY.into(), string(company));
    }
    item
}

fn client_from(item: &Item) -> Result<Client, StoreError> {
    let read = Reader(item);
    Ok(Client {
        id: read.num(attr::ID)?,
        email: read.str(attr::EMAIL)?.to_owned(),
        first_name: read.str(attr::FIRST_NAME)?.to_owned(),
        last_name: read.str(attr::LAST_NAME)?.to_owned(),
        phone: read.str(attr::PHONE)?.to_owned(),
        company: read.opt_str(attr::COMPANY).map(str::to_owned),
        language: read.str(attr::LANGUAGE)?.to_owned(),
        created_at: read.num(attr::CREATED_AT)?,
        updated_at: read.num(attr::UPDATED_AT)?,
    })
}

pub struct Clients<'a> {
    pub(super) client: &'a aws_sdk_dynamodb::Client,
    pub(super) table: &'a str,
}

impl Clients<'_> {
    /// The transaction step that writes a new client record, and the record's fields as
    /// its audit record's changes.
    pub fn put_step(
        &self,
        record: &Client,
        email: &Email,
    ) -> Result<(TransactWriteItem, BTreeMap<String, FieldChange>), StoreError> {
        let item = item_of(record, email);
        let changes = audit::changes(&Item::new(), &item, &BOOKKEEPING);
        Ok((put_new_step(self.table, item, attr::ID)?, changes))
    }

    pub async fn find(&self, id: i64) -> Result<Option<Client>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key(attr::ID, number(id))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(client_from).transpose()
    }
}
