//! The route registry's switches: an operator can switch a route, or the service it
//! belongs to (`employees`, `sessions`, …), off without a redeploy. A route or service
//! with no record is on.

use super::{Item, Reader, StoreError, number, string};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Whether a route and its service are switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    pub route_on: bool,
    pub service_on: bool,
}

pub fn route_key(path: &str) -> String {
    format!("route:{path}")
}

pub fn service_key(service: &str) -> String {
    format!("service:{service}")
}

pub struct Registry<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Registry<'_> {
    /// The switches of a route and its service, in one BatchGetItem.
    pub async fn switches(&self, path: &str, service: &str) -> Result<Switches, StoreError> {
        let keys = [route_key(path), service_key(service)];
        let wanted = keys
            .iter()
            .map(|key| Item::from([("key".to_owned(), string(key))]))
            .collect();
        let mut enabled: HashMap<String, bool> = HashMap::new();
        for item in super::batch_get(self.client, self.table, wanted).await? {
            let read = Reader(&item);
            enabled.insert(read.str("key")?.to_owned(), read.bool("enabled"));
        }
        Ok(Switches {
            route_on: enabled.get(&keys[0]).copied().unwrap_or(true),
            service_on: enabled.get(&keys[1]).copied().unwrap_or(true),
        })
    }

    /// Switches a route (`route_key`) or a service (`service_key`) on or off.
    pub async fn set(
        &self,
        key: &str,
        enabled: bool,
        reason: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("key".into(), string(key)),
            ("enabled".into(), AttributeValue::Bool(enabled)),
            ("updated_at".into(), number(now)),
        ]);
        if let Some(reason) = reason {
            item.insert("reason".into(), string(reason));
        }
        super::put(self.client, self.table, item, "writing a switch").await
    }
}
