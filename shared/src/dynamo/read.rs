//! Reads: batches, pages, items read ahead of their use, and typed attributes.

use super::{Backoff, Item, StoreError};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use std::collections::HashMap;
use std::future::Future;

/// The items with these keys that exist, read consistently with BatchGetItem (at most
/// 100 keys), asking again for any DynamoDB left unprocessed.
pub async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<Vec<Item>, StoreError> {
    let found = batch_read(client, HashMap::from([(table.to_owned(), keys)])).await?;
    Ok(found.into_values().flatten().collect())
}

/// The items that exist at these keys, by table, read consistently with BatchGetItem (at
/// most 100 keys in all). DynamoDB may leave keys unprocessed when a table or partition is
/// busy; they are asked for again after a jittered backoff, up to its limit.
async fn batch_read(
    client: &Client,
    keys_by_table: HashMap<String, Vec<Item>>,
) -> Result<HashMap<String, Vec<Item>>, StoreError> {
    let mut requests = HashMap::new();
    for (table, keys) in keys_by_table {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()?;
        requests.insert(table, request);
    }
    let mut found: HashMap<String, Vec<Item>> = HashMap::new();
    let mut backoff = Backoff::new();
    loop {
        let output = client
            .batch_get_item()
            .set_request_items(Some(requests))
            .send()
            .await?;
        for (table, items) in output.responses.unwrap_or_default() {
            found.entry(table).or_default().extend(items);
        }
        requests = output.unprocessed_keys.unwrap_or_default();
        requests.retain(|_, request| !request.keys().is_empty());
        if requests.is_empty() {
            return Ok(found);
        }
        if !backoff.wait().await {
            return Err(StoreError::Busy("a batch read"));
        }
    }
}

/// Every item of a paged Query or Scan: `page` sends the request from a start key and
/// answers the page's items and the key the next page starts from.
pub async fn every_page<F, Fut>(mut page: F) -> Result<Vec<Item>, StoreError>
where
    F: FnMut(Option<Item>) -> Fut,
    Fut: Future<Output = Result<(Vec<Item>, Option<Item>), StoreError>>,
{
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let (mut found, next) = page(start).await?;
        items.append(&mut found);
        match next {
            Some(key) => start = Some(key),
            None => return Ok(items),
        }
    }
}

/// Where an item is: its table and key.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemKey {
    pub table: String,
    pub key: Item,
}

impl ItemKey {
    fn matches(&self, table: &str, item: &Item) -> bool {
        self.table == table
            && self
                .key
                .iter()
                .all(|(name, value)| item.get(name) == Some(value))
    }
}

/// Items read ahead of their use: what was at each key.
#[derive(Debug, Clone, Default)]
pub struct ReadAhead {
    items: Vec<(ItemKey, Option<Item>)>,
}

impl ReadAhead {
    /// What was at `key`, if it was read ahead: `Some(None)` when no item was there.
    pub fn get(&self, key: &ItemKey) -> Option<&Option<Item>> {
        self.items
            .iter()
            .find(|(read, _)| read == key)
            .map(|(_, item)| item)
    }
}

/// The items at `first` and at each of `others`, read consistently in one BatchGetItem
/// (one round trip where a GetItem each would take as many).
pub async fn get_with(
    client: &Client,
    first: &ItemKey,
    others: &[ItemKey],
) -> Result<(Option<Item>, ReadAhead), StoreError> {
    let mut wanted: HashMap<String, Vec<Item>> = HashMap::new();
    for key in std::iter::once(first).chain(others) {
        let keys = wanted.entry(key.table.clone()).or_default();
        if !keys.contains(&key.key) {
            keys.push(key.key.clone());
        }
    }
    let mut found_first = None;
    let mut read_ahead = ReadAhead {
        items: others.iter().map(|key| (key.clone(), None)).collect(),
    };
    for (table, items) in batch_read(client, wanted).await? {
        for item in items {
            if first.matches(&table, &item) {
                found_first = Some(item.clone());
            }
            for (key, found) in &mut read_ahead.items {
                if key.matches(&table, &item) {
                    *found = Some(item.clone());
                }
            }
        }
    }
    Ok((found_first, read_ahead))
}

/// Reads typed attributes out of an item, naming the attribute when it is not there.
pub struct Reader<'a>(pub &'a Item);

impl<'a> Reader<'a> {
    pub fn opt_str(&self, name: &str) -> Option<&'a str> {
        match self.0.get(name) {
            Some(AttributeValue::S(text)) => Some(text),
            _ => None,
        }
    }

    /// An attribute as it is stored, whatever its type.
    pub fn value(&self, name: &str) -> Result<AttributeValue, StoreError> {
        self.0.get(name).cloned().ok_or_else(|| missing(name))
    }

    pub fn str(&self, name: &str) -> Result<&'a str, StoreError> {
        self.opt_str(name).ok_or_else(|| missing(name))
    }

    pub fn opt_num(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.0.get(name) {
            Some(AttributeValue::N(text)) => text
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Malformed(format!("`{name}` is not an integer"))),
            _ => Ok(None),
        }
    }

    pub fn num(&self, name: &str) -> Result<i64, StoreError> {
        self.opt_num(name)?.ok_or_else(|| missing(name))
    }

    pub fn opt_bytes(&self, name: &str) -> Option<&'a [u8]> {
        match self.0.get(name) {
            Some(AttributeValue::B(blob)) => Some(blob.as_ref()),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.0.get(name), Some(AttributeValue::Bool(true)))
    }

    /// A string set or list of strings; absent reads as empty (DynamoDB has no empty sets).
    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(AttributeValue::Ss(items)) => items.clone(),
            Some(AttributeValue::L(items)) => items
                .iter()
                .filter_map(|item| item.as_s().ok().cloned())
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn map(&self, name: &str) -> Option<&'a HashMap<String, AttributeValue>> {
        match self.0.get(name) {
            Some(AttributeValue::M(map)) => Some(map),
            _ => None,
        }
    }
}

fn missing(name: &str) -> StoreError {
    StoreError::Malformed(format!("`{name}` is missing"))
}
