//! Reference data: service areas, departments and designations, which records point to.
//!
//! Reference data is only ever added to: the operator tool adds and renames entries and
//! never deletes one. So a write checks its references by reading them rather than
//! inside its transaction (where every create would hold the same few reference items
//! and concurrent creates would cancel one another for them), and an entry a process has
//! seen once is known to exist for good.

use super::{Item, StoreError, batch_get, string};
use crate::domain::ReferenceKind as Kind;

mod attr {
    pub const KIND: &str = "kind";
    pub const KEY: &str = "key";
    pub const NAME: &str = "name";
}
use aws_sdk_dynamodb::Client;
use std::collections::HashSet;
use std::sync::Mutex;

/// The entries this process has seen exist.
#[derive(Debug, Default)]
pub(super) struct KnownReferences(Mutex<HashSet<(Kind, String)>>);

impl KnownReferences {
    fn contains(&self, entry: &(Kind, String)) -> bool {
        self.0.lock().is_ok_and(|known| known.contains(entry))
    }

    fn add(&self, entry: (Kind, String)) {
        if let Ok(mut known) = self.0.lock() {
            known.insert(entry);
        }
    }
}

pub struct Reference<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
    pub(super) known: &'a KnownReferences,
}

impl Reference<'_> {
    /// Creates or replaces an entry; `key` is an id or a slug.
    pub async fn put(&self, kind: Kind, key: &str, name: &str) -> Result<(), StoreError> {
        let item = Item::from([
            (attr::KIND.into(), string(kind.name())),
            (attr::KEY.into(), string(key)),
            (attr::NAME.into(), string(name)),
        ]);
        super::put(self.client, self.table, item, "writing reference data").await
    }

    /// Checks that every entry (kind, id or slug) exists, so that a record never points
    /// at reference data that is not there: one consistent BatchGetItem for the entries
    /// this process has not seen yet, none once it has seen them all.
    pub async fn check(&self, entries: &[(Kind, String)]) -> Result<Result<(), Kind>, StoreError> {
        let unknown: Vec<&(Kind, String)> = entries
            .iter()
            .filter(|entry| !self.known.contains(entry))
            .collect();
        if unknown.is_empty() {
            return Ok(Ok(()));
        }
        let keys = unknown
            .iter()
            .map(|(kind, key)| {
                Item::from([
                    (attr::KIND.to_owned(), string(kind.name())),
                    (attr::KEY.to_owned(), string(key)),
                ])
            })
            .collect();
        for item in batch_get(self.client, self.table, keys).await? {
            let read = super::Reader(&item);
            if let Some(kind) = Kind::from_name(read.str(attr::KIND)?) {
                self.known.add((kind, read.str(attr::KEY)?.to_owned()));
            }
        }
        match unknown
            .into_iter()
            .find(|entry| !self.known.contains(entry))
        {
            Some((kind, _)) => Ok(Err(*kind)),
            None => Ok(Ok(())),
        }
    }
}
