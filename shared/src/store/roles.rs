//! Roles: per application, a named set of permissions.

use super::{Item, Reader, StoreError, string};
use crate::authorise::Application;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub struct Roles<'a> {
    pub client: &'a Client,
    pub table: &'a str,
}

impl Roles<'_> {
    /// Creates or replaces a role.
    pub async fn put(
        &self,
        application: Application,
        role: &str,
        permissions: &[&str],
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("application".into(), string(application.slug())),
            ("role".into(), string(role)),
        ]);
        if !permissions.is_empty() {
            item.insert(
                "permissions".into(),
                AttributeValue::Ss(permissions.iter().map(|p| (*p).to_owned()).collect()),
            );
        }
        super::put(self.client, self.table, item, "writing a role").await
    }

    /// The permissions of each (application slug, role) asked for, in one BatchGetItem.
    /// A role that does not exist grants nothing.
    pub async fn permissions(
        &self,
        roles: &HashMap<String, String>,
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        if roles.is_empty() {
            return Ok(HashMap::new());
        }
        let keys = roles
            .iter()
            .map(|(application, role)| {
                Item::from([
                    ("application".to_owned(), string(application)),
                    ("role".to_owned(), string(role)),
                ])
            })
            .collect();
        let mut found = HashMap::new();
        for item in super::batch_get(self.client, self.table, keys).await? {
            let read = Reader(&item);
            found.insert(
                read.str("application")?.to_owned(),
                read.strings("permissions"),
            );
        }
        Ok(found)
    }
}
