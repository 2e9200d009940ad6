//! Roles: per application, a named set of permissions.

use super::{Item, Reader, StoreError, string};
use crate::authorise::Application;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
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
                HashMap::from([
                    ("application".to_owned(), string(application)),
                    ("role".to_owned(), string(role)),
                ])
            })
            .collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()?,
        );
        let mut found = HashMap::new();
        while let Some(keys) = request.take() {
            let output = self
                .client
                .batch_get_item()
                .request_items(self.table, keys)
                .send()
                .await?;
            for item in output
                .responses()
                .and_then(|r| r.get(self.table))
                .into_iter()
                .flatten()
            {
                let read = Reader(item);
                found.insert(
                    read.str("application")?.to_owned(),
                    read.strings("permissions"),
                );
            }
            request = output
                .unprocessed_keys()
                .and_then(|unprocessed| unprocessed.get(self.table))
                .cloned();
        }
        Ok(found)
    }
}
