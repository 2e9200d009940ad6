//! Roles: per application, a named set of permissions.

use super::{Item, Reader, StoreError, string};
use crate::domain::{Application, Permission};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a process trusts a role's permissions as it read them, for deciding whom a
/// caller may act on: an operator's change to a role reaches that decision within this
/// time (and open sessions at once, as the operator tool updates them).
pub const ROLE_CACHE_TTL: Duration = Duration::from_secs(30);

/// A role's permissions, and when this process read them.
type Read = (Instant, Vec<Permission>);

/// What the roles a user holds grant: per application, the permissions of the role held
/// there; and whether any of those roles requires a second factor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Held {
    pub permissions: BTreeMap<Application, Vec<Permission>>,
    pub second_factor_required: bool,
}

/// Roles' permissions as this process last read them.
#[derive(Default)]
pub struct RoleCache {
    entries: Mutex<HashMap<(Application, String), Read>>,
}

impl RoleCache {
    fn get(&self, application: Application, role: &str) -> Option<Vec<Permission>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&(application, role.to_owned()))
            .filter(|(read_at, _)| read_at.elapsed() < ROLE_CACHE_TTL)
            .map(|(_, permissions)| permissions.clone())
    }

    fn put(&self, application: Application, role: &str, permissions: &[Permission]) {
        if let Ok(mut entries) = self.entries.lock() {
            let entry = (Instant::now(), permissions.to_vec());
            entries.insert((application, role.to_owned()), entry);
        }
    }
}

mod attr {
    pub const APPLICATION: &str = "application";
    pub const ROLE: &str = "role";
    pub const PERMISSIONS: &str = "permissions";
    /// Present (true) on a role whose holders must sign in with a second factor.
    pub const SECOND_FACTOR_REQUIRED: &str = "second_factor_required";
}

pub struct Roles<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
    pub(super) cache: &'a RoleCache,
}

impl Roles<'_> {
    /// Creates or replaces a role; with `second_factor_required`, its holders must have a
    /// second factor.
    pub async fn put(
        &self,
        application: Application,
        role: &str,
        permissions: &[Permission],
        second_factor_required: bool,
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            (attr::APPLICATION.into(), string(application.slug())),
            (attr::ROLE.into(), string(role)),
        ]);
        if second_factor_required {
            item.insert(
                attr::SECOND_FACTOR_REQUIRED.into(),
                AttributeValue::Bool(true),
            );
        }
        if !permissions.is_empty() {
            let names = permissions.iter().map(|p| p.name().to_owned()).collect();
            item.insert(attr::PERMISSIONS.into(), AttributeValue::Ss(names));
        }
        super::put(self.client, self.table, item, "writing a role").await
    }

    /// [`Roles::permissions`], taking what this process read less than
    /// [`ROLE_CACHE_TTL`] ago as it was, and reading the rest.
    pub async fn permissions_cached(
        &self,
        roles: &BTreeMap<Application, String>,
    ) -> Result<BTreeMap<Application, Vec<Permission>>, StoreError> {
        let mut held = BTreeMap::new();
        let mut unread = BTreeMap::new();
        for (application, role) in roles {
            match self.cache.get(*application, role) {
                Some(permissions) => {
                    held.insert(*application, permissions);
                }
                None => {
                    unread.insert(*application, role.clone());
                }
            }
        }
        let read = self.permissions(&unread).await?;
        for (application, role) in &unread {
            let permissions = read.get(application).cloned().unwrap_or_default();
            self.cache.put(*application, role, &permissions);
            held.insert(*application, permissions);
        }
        Ok(held)
    }

    /// The permissions of the role held in each application (see [`Roles::held`]).
    pub async fn permissions(
        &self,
        roles: &BTreeMap<Application, String>,
    ) -> Result<BTreeMap<Application, Vec<Permission>>, StoreError> {
        Ok(self.held(roles).await?.permissions)
    }

    /// What the role held in each application grants, in one BatchGetItem. A role that
    /// does not exist grants nothing; a permission PlanoAuth does not know neither.
    pub async fn held(&self, roles: &BTreeMap<Application, String>) -> Result<Held, StoreError> {
        if roles.is_empty() {
            return Ok(Held::default());
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
        let mut found = Held::default();
        for item in super::batch_get(self.client, self.table, keys).await? {
            let read = Reader(&item);
            found.second_factor_required |= read.bool(attr::SECOND_FACTOR_REQUIRED);
            let Some(application) = Application::from_slug(read.str(attr::APPLICATION)?) else {
                continue;
            };
            let held = read
                .strings(attr::PERMISSIONS)
                .iter()
                .filter_map(|name| Permission::from_name(name))
                .collect();
            found.permissions.insert(application, held);
        }
        Ok(found)
    }
}
