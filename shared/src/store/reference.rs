//! Reference data: service areas, departments and designations, which records point to.

use super::{Item, StoreError, string};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ServiceArea,
    Department,
    Designation,
}

impl Kind {
    pub const fn name(self) -> &'static str {
        match self {
            Kind::ServiceArea => "service_area",
            Kind::Department => "department",
            Kind::Designation => "designation",
        }
    }
}

pub struct Reference<'a> {
    pub client: &'a Client,
    pub table: &'a str,
}

impl Reference<'_> {
    /// Creates or replaces an entry; `key` is an id or a slug.
    pub async fn put(&self, kind: Kind, key: &str, name: &str) -> Result<(), StoreError> {
        let item = Item::from([
            ("kind".into(), string(kind.name())),
            ("key".into(), string(key)),
            ("name".into(), string(name)),
        ]);
        super::put(self.client, self.table, item, "writing reference data").await
    }

    /// A transaction step that fails unless the entry exists, so that a record never
    /// points at reference data that is not there.
    pub fn must_exist(&self, kind: Kind, key: &str) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(self.table)
            .key("kind", string(kind.name()))
            .key("key", string(key))
            .condition_expression("attribute_exists(#key)")
            .expression_attribute_names("#key", "key")
            .build()?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}
