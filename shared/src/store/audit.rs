//! The audit trail: one item per change to a person, put in the transaction that makes
//! the change, so that a change and its record are written together or not at all.
//!
//! Keyed by `user_id` and `at_id` (the zero-padded second of the change, then the
//! microsecond it was written and a random id: unique, and sorting by time even within
//! a second), so that a person's trail is one Query. The `by-day` index, keyed
//! by the UTC day (`2026-11-25`) and `at_id`, finds every change since a time with one
//! Query per day rather than a Scan; changes to people are rare enough that a day's
//! partition never runs hot.

use super::{Item, Reader, StoreError, every_page, number, string};
use crate::clock::rfc3339;
use crate::domain::{Actor, Application, AuditAction, AuditEntry, FieldChange, RecordKind};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

pub const BY_DAY: &str = "by-day";
const DAY: i64 = 24 * 60 * 60;

mod attr {
    pub const USER_ID: &str = "user_id";
    pub const AT_ID: &str = "at_id";
    pub const DAY: &str = "day";
    pub const AT: &str = "at";
    pub const TIME: &str = "time";
    pub const ACTION: &str = "action";
    pub const ACTOR: &str = "actor";
    pub const RECORD_KIND: &str = "record_kind";
    pub const RECORD_ID: &str = "record_id";
    pub const CHANGES: &str = "changes";
    pub const COUNT: &str = "count";
    pub const REQUEST_ID: &str = "request_id";
    pub const OLD: &str = "old";
    pub const NEW: &str = "new";
    pub const KIND: &str = "kind";
    pub const TOKEN_ID: &str = "token_id";
    pub const APPLICATION: &str = "application";
    pub const OS_USER: &str = "os_user";
}

/// The UTC day of a time, as the `by-day` index keys it.
pub fn day_of(at: i64) -> String {
    let mut text = rfc3339(at);
    text.truncate(10);
    text
}

/// The sort key: the change's second first, so that `--since` is a key condition; the
/// microsecond of writing orders changes within a second, and the id keeps them apart.
fn at_id(at: i64) -> String {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros());
    format!(
        "{}{micros:016}#{}",
        from_second(at),
        crate::tokens::random_id()
    )
}

/// The lowest sort key of a second.
fn from_second(at: i64) -> String {
    format!("{at:010}#")
}

/// The transaction step that records `entry`. Unconditional: its key is new.
pub fn put_step(table: &str, entry: &AuditEntry) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item_of(entry)))
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn item_of(entry: &AuditEntry) -> Item {
    let mut item = Item::from([
        (attr::USER_ID.into(), number(entry.user_id)),
        (attr::AT_ID.into(), string(at_id(entry.at))),
        (attr::DAY.into(), string(day_of(entry.at))),
        (attr::AT.into(), number(entry.at)),
        (attr::TIME.into(), string(rfc3339(entry.at))),
        (attr::ACTION.into(), string(entry.action.slug())),
        (attr::ACTOR.into(), actor_value(&entry.actor)),
        (attr::RECORD_KIND.into(), string(entry.record.name())),
        (attr::RECORD_ID.into(), number(entry.user_id)),
        (attr::REQUEST_ID.into(), string(&entry.request_id)),
    ]);
    let changes = entry
        .changes
        .iter()
        .map(|(field, change)| {
            let mut values = HashMap::new();
            if let Some(old) = &change.old {
                values.insert(attr::OLD.to_owned(), attribute(old));
            }
            if let Some(new) = &change.new {
                values.insert(attr::NEW.to_owned(), attribute(new));
            }
            (field.clone(), AttributeValue::M(values))
        })
        .collect();
    item.insert(attr::CHANGES.into(), AttributeValue::M(changes));
    if let Some(count) = entry.count {
        item.insert(attr::COUNT.into(), number(count));
    }
    item
}

fn actor_value(actor: &Actor) -> AttributeValue {
    let fields = match actor {
        Actor::Application {
            token_id,
            application,
        } => vec![
            (attr::KIND, Some(string("application"))),
            (attr::TOKEN_ID, Some(string(token_id))),
            (attr::APPLICATION, Some(string(application.slug()))),
        ],
        Actor::User {
            user_id,
            application,
        } => vec![
            (attr::KIND, Some(string("user"))),
            (attr::USER_ID, user_id.map(number)),
            (attr::APPLICATION, Some(string(application.slug()))),
        ],
        Actor::Operator { os_user } => vec![
            (attr::KIND, Some(string("operator"))),
            (attr::OS_USER, os_user.as_deref().map(string)),
        ],
    };
    AttributeValue::M(
        fields
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .collect(),
    )
}

fn entry_from(item: &Item) -> Result<AuditEntry, StoreError> {
    let read = Reader(item);
    let malformed = |what: &str| StoreError::Malformed(format!("audit item has {what}"));
    let empty = HashMap::new();
    let actor = Reader(read.map(attr::ACTOR).unwrap_or(&empty));
    let application = || {
        actor
            .opt_str(attr::APPLICATION)
            .and_then(Application::from_slug)
            .ok_or_else(|| malformed("an actor without an application"))
    };
    let actor = match actor.str(attr::KIND)? {
        "application" => Actor::Application {
            token_id: actor.str(attr::TOKEN_ID)?.to_owned(),
            application: application()?,
        },
        "user" => Actor::User {
            user_id: actor.opt_num(attr::USER_ID)?,
            application: application()?,
        },
        "operator" => Actor::Operator {
            os_user: actor.opt_str(attr::OS_USER).map(str::to_owned),
        },
        other => return Err(malformed(&format!("the unknown actor kind `{other}`"))),
    };
    let changes = read
        .map(attr::CHANGES)
        .into_iter()
        .flatten()
        .map(|(field, values)| {
            let values = values.as_m().ok();
            let value = |name: &str| values.and_then(|v| v.get(name)).map(to_json);
            let change = FieldChange {
                old: value(attr::OLD),
                new: value(attr::NEW),
            };
            (field.clone(), change)
        })
        .collect();
    Ok(AuditEntry {
        at: read.num(attr::AT)?,
        actor,
        action: AuditAction::from_slug(read.str(attr::ACTION)?)
            .ok_or_else(|| malformed("an unknown action"))?,
        user_id: read.num(attr::USER_ID)?,
        record: RecordKind::from_name(read.str(attr::RECORD_KIND)?)
            .ok_or_else(|| malformed("an unknown record kind"))?,
        changes,
        count: read.opt_num(attr::COUNT)?,
        request_id: read.str(attr::REQUEST_ID)?.to_owned(),
    })
}

/// The fields whose values differ between two versions of an item (`before` empty for
/// a new one), but for those in `skip`: bookkeeping, or a secret.
pub fn changes(before: &Item, after: &Item, skip: &[&str]) -> BTreeMap<String, FieldChange> {
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|field| !skip.contains(&field.as_str()))
        .filter(|field| before.get(*field) != after.get(*field))
        .map(|field| {
            let change = FieldChange {
                old: before.get(field).map(to_json),
                new: after.get(field).map(to_json),
            };
            (field.clone(), change)
        })
        .collect()
}

/// A stored value as JSON: numbers as numbers where they parse, sets as arrays.
pub fn to_json(value: &AttributeValue) -> Value {
    let number = |text: &String| {
        text.parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::from(text.as_str()))
    };
    match value {
        AttributeValue::S(text) => Value::from(text.as_str()),
        AttributeValue::N(text) => number(text),
        AttributeValue::Bool(flag) => Value::Bool(*flag),
        AttributeValue::Ss(items) => items.iter().map(|s| Value::from(s.as_str())).collect(),
        AttributeValue::Ns(items) => items.iter().map(number).collect(),
        AttributeValue::L(items) => items.iter().map(to_json).collect(),
        AttributeValue::M(map) => map
            .iter()
            .map(|(key, value)| (key.clone(), to_json(value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        _ => Value::Null,
    }
}

/// JSON as a stored value.
fn attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(flag) => AttributeValue::Bool(*flag),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(text) => string(text),
        Value::Array(items) => AttributeValue::L(items.iter().map(attribute).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(key, value)| (key.clone(), attribute(value)))
                .collect(),
        ),
    }
}

pub struct Audit<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Audit<'_> {
    /// The transaction step that records `entry`.
    pub fn put(&self, entry: &AuditEntry) -> Result<TransactWriteItem, StoreError> {
        put_step(self.table, entry)
    }

    /// Records `entry` on its own, for a change that is not one transaction.
    pub async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        super::put(
            self.client,
            self.table,
            item_of(entry),
            "recording an audit entry",
        )
        .await
    }

    /// A person's trail, oldest first.
    pub async fn for_user(&self, user_id: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let items = every_page(|start| async move {
            let page = self
                .client
                .query()
                .table_name(self.table)
                .key_condition_expression("#user = :user")
                .expression_attribute_names("#user", attr::USER_ID)
                .expression_attribute_values(":user", number(user_id))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
        })
        .await?;
        items.iter().map(entry_from).collect()
    }

    /// Every change from `since` to `now` (Unix seconds), oldest first: one Query of the
    /// `by-day` index per day. The index is eventually consistent: a change made in the
    /// last second may not be there yet.
    pub async fn since(&self, since: i64, now: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = Vec::new();
        let from = from_second(since);
        let mut day = since - since.rem_euclid(DAY);
        while day <= now {
            let from = &from;
            let items = every_page(|start| async move {
                let page = self
                    .client
                    .query()
                    .table_name(self.table)
                    .index_name(BY_DAY)
                    .key_condition_expression("#day = :day AND #at_id >= :from")
                    .expression_attribute_names("#day", attr::DAY)
                    .expression_attribute_names("#at_id", attr::AT_ID)
                    .expression_attribute_values(":day", string(day_of(day)))
                    .expression_attribute_values(":from", string(from))
                    .set_exclusive_start_key(start)
                    .send()
                    .await?;
                Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
            })
            .await?;
            for item in &items {
                entries.push(entry_from(item)?);
            }
            day += DAY;
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_sort_keys_follow_utc_time() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_795_651_199), "2026-11-25");
        assert_eq!(day_of(1_795_651_200), "2026-11-26");
        let first = at_id(1000);
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert!(first < at_id(1000), "within a second, in the order written");
        assert!(at_id(999) < first, "the change's second sorts first");
        assert!(from_second(1000) < at_id(1000) && at_id(999) < from_second(1000));
    }

    #[test]
    fn an_entry_reads_back_as_it_was_written() {
        let mut entry = AuditEntry::new(
            1_795_651_199,
            Actor::Application {
                token_id: "tok".into(),
                application: Application::PlanoOrder,
            },
            AuditAction::EmployeeUpdated,
            42,
            RecordKind::Employee,
            "req-1",
        );
        let before = Item::from([
            ("phone".to_owned(), string("+1 555")),
            ("skills".to_owned(), AttributeValue::L(vec![string("x")])),
            ("updated_at".to_owned(), number(1)),
        ]);
        let after = Item::from([
            ("first_name".to_owned(), string("Ada")),
            ("skills".to_owned(), AttributeValue::L(vec![string("x")])),
            ("updated_at".to_owned(), number(2)),
        ]);
        entry.changes = changes(&before, &after, &["updated_at"]);
        entry.count = Some(3);
        assert_eq!(
            entry.changes.keys().collect::<Vec<_>>(),
            ["first_name", "phone"]
        );
        assert_eq!(entry.changes["phone"].new, None, "cleared");
        assert_eq!(entry.changes["first_name"].old, None, "new");
        assert_eq!(entry_from(&item_of(&entry)).ok(), Some(entry));
    }
}
