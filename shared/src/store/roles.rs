//! Roles: per application, a named set of permissions.

use super::{Item, Reader, StoreError, string};
use crate::domain::{Application, Permission};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;

mod attr {
    pub const APPLICATION: &str = "application";
    pub const ROLE: &str = "role";
    pub const PERMISSIONS: &str = "permissions";
}

pub struct Roles<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Roles<'_> {
    /// Creates or replaces a role.
    pub async fn put(
        &self,
        application: Application,
        role: &str,
        permissions: &[Permission],
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            (attr::APPLICATION.into(), string(application.slug())),
            (attr::ROLE.into(), string(role)),
        ]);
        if !permissions.is_empty() {
            let names = permissions.iter().map(|p| p.name().to_owned()).collect();
            item.insert(attr::PERMISSIONS.into(), AttributeValue::Ss(names));
        }
        super::put(self.client, self.table, item, "writing a role").await
    }

    /// The permissions of the role held in each application, in one BatchGetItem. A role
    /// that does not exist grants nothing; a permission PlanoAuth does not know neither.
    pub async fn permissions(
        &self,
        roles: &BTreeMap<Application, String>,
    ) -> Result<BTreeMap<Application, Vec<Permission>>, StoreError> {
        if roles.is_empty() {
            return Ok(BTreeMap::new());
        }
        let keys = roles
            .iter()
            .map(|(application, role)| {
                Item::from([
                    (attr::APPLICATION.to_owned(), string(application.slug())),
                    (attr::ROLE.to_owned(), string(role)),
                ])
            })
            .collect();
        let mut found = BTreeMap::new();
        for item in super::batch_get(self.client, self.table, keys).await? {
            let read = Reader(&item);
            let Some(application) = Application::from_slug(read.str(attr::APPLICATION)?) else {
                continue;
            };
            let held = read
                .strings(attr::PERMISSIONS)
                .iter()
                .filter_map(|name| Permission::from_name(name))
                .collect();
            found.insert(application, held);
        }
        Ok(found)
    }
}
