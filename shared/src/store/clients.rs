//! Client records: the people PlanoAuth's applications serve, keyed by their user's id.

use super::{Item, Reader, StoreError, number, string};
use crate::clock::rfc3339;
use crate::values::Email;
use crate::view::View;
use aws_sdk_dynamodb::Client as DynamoDb;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub company: Option<String>,
    pub language: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    pub fn view(&self, view: View) -> Value {
        let mut shown = json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "company": self.company,
            "language": self.language,
        });
        if view == View::InternalApps {
            shown["created_at"] = json!(rfc3339(self.created_at));
            shown["updated_at"] = json!(rfc3339(self.updated_at));
        }
        shown
    }

    fn item(&self, email: &Email) -> Item {
        let mut item = Item::from([
            ("id".into(), number(self.id)),
            ("email".into(), string(&self.email)),
            ("email_normalized".into(), string(email.normalized())),
            ("first_name".into(), string(&self.first_name)),
            ("last_name".into(), string(&self.last_name)),
            ("phone".into(), string(&self.phone)),
            ("language".into(), string(&self.language)),
            ("created_at".into(), number(self.created_at)),
            ("updated_at".into(), number(self.updated_at)),
        ]);
        if let Some(company) = &self.company {
            item.insert("company".into(), string(company));
        }
        item
    }

    fn from_item(item: &Item) -> Result<Client, StoreError> {
        let read = Reader(item);
        Ok(Client {
            id: read.num("id")?,
            email: read.str("email")?.to_owned(),
            first_name: read.str("first_name")?.to_owned(),
            last_name: read.str("last_name")?.to_owned(),
            phone: read.str("phone")?.to_owned(),
            company: read.opt_str("company").map(str::to_owned),
            language: read.str("language")?.to_owned(),
            created_at: read.num("created_at")?,
            updated_at: read.num("updated_at")?,
        })
    }
}

pub struct Clients<'a> {
    pub client: &'a DynamoDb,
    pub table: &'a str,
}

impl Clients<'_> {
    /// The write that creates a client record, for the registering transaction.
    pub fn put(&self, record: &Client, email: &Email) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(record.item(email)))
            .condition_expression("attribute_not_exists(id)")
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub async fn find(&self, id: i64) -> Result<Option<Client>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key("id", number(id))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(Client::from_item).transpose()
    }
}
