//! The DynamoDB adapters. Each module owns one table's items; this module holds what they
//! share: the error type, item readers and an expression builder.

pub mod application_tokens;
pub mod clients;
pub mod counters;
pub mod emails;
pub mod employees;
pub mod notifications;
pub mod reference;
pub mod registry;
pub mod roles;
pub mod sessions;
pub mod users;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use reference::Kind;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB call failed: {}", DisplayErrorContext(.0))]
    DynamoDb(#[source] Box<aws_sdk_dynamodb::Error>),
    #[error("stored item is malformed: {0}")]
    Malformed(String),
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    aws_sdk_dynamodb::Error: From<SdkError<E, R>>,
{
    fn from(error: SdkError<E, R>) -> Self {
        StoreError::DynamoDb(Box::new(error.into()))
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for StoreError {
    fn from(error: aws_sdk_dynamodb::error::BuildError) -> Self {
        StoreError::Malformed(format!("request could not be built: {error}"))
    }
}

pub fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// What a conditional UpdateItem did.
pub enum Conditional {
    /// The condition held: the item as written.
    Updated(Item),
    /// The condition failed: the item as it is, or `None` if there is none.
    Refused(Option<Item>),
}

/// One conditional UpdateItem that returns the new item when its condition holds and,
/// when it fails, the stored item (DynamoDB's `ReturnValuesOnConditionCheckFailure`), so
/// the caller learns why without a second read.
pub async fn update_if(
    client: &Client,
    table: &str,
    key: (&str, AttributeValue),
    expression: &Expression,
) -> Result<Conditional, StoreError> {
    let result = client
        .update_item()
        .table_name(table)
        .key(key.0, key.1)
        .set_update_expression(expression.update_expression())
        .set_condition_expression(expression.condition_expression())
        .set_expression_attribute_names(expression.names())
        .set_expression_attribute_values(expression.values())
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(output) => output
            .attributes
            .map(Conditional::Updated)
            .ok_or_else(|| StoreError::Malformed("UpdateItem returned no item".into())),
        Err(error) => match error.into_service_error() {
            UpdateItemError::ConditionalCheckFailedException(failed) => {
                Ok(Conditional::Refused(failed.item))
            }
            other => Err(StoreError::DynamoDb(Box::new(other.into()))),
        },
    }
}

/// What a step of a transaction stands for, so that a cancellation says which condition
/// refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A write to the record itself (or its own email claim being released).
    Record,
    EmailClaim,
    Reference(Kind),
    /// The session a registration makes act for the new user.
    Session,
}

pub enum Outcome {
    Written,
    /// A step's condition failed; the first such step in the order of priority: the
    /// record first (it must be re-read before anything else means something).
    Refused(Step),
    /// DynamoDB cancelled the transaction for a concurrent one on the same items.
    Conflict,
}

/// A multi-item write as one DynamoDB transaction: all of it is written, or none.
#[derive(Default)]
pub struct Steps {
    kinds: Vec<Step>,
    items: Vec<TransactWriteItem>,
}

impl Steps {
    pub fn push(&mut self, kind: Step, item: TransactWriteItem) {
        self.kinds.push(kind);
        self.items.push(item);
    }

    pub async fn run(self, client: &Client) -> Result<Outcome, StoreError> {
        let result = client
            .transact_write_items()
            .set_transact_items(Some(self.items))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(Outcome::Written),
            Err(error) => error,
        };
        let cancelled = match error {
            SdkError::ServiceError(service) => match service.into_err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled,
                TransactWriteItemsError::TransactionInProgressException(_) => {
                    return Ok(Outcome::Conflict);
                }
                other => return Err(StoreError::DynamoDb(Box::new(other.into()))),
            },
            other => return Err(other.into()),
        };
        let reasons = cancelled.cancellation_reasons();
        let refused = |step: Step| {
            self.kinds.iter().zip(reasons).any(|(kind, reason)| {
                *kind == step && reason.code() == Some("ConditionalCheckFailed")
            })
        };
        if refused(Step::Record) {
            return Ok(Outcome::Refused(Step::Record));
        }
        if let Some(step) = self
            .kinds
            .iter()
            .copied()
            .find(|step| *step != Step::Record && refused(*step))
        {
            return Ok(Outcome::Refused(step));
        }
        if reasons
            .iter()
            .any(|reason| reason.code() == Some("TransactionConflict"))
        {
            return Ok(Outcome::Conflict);
        }
        Err(StoreError::Malformed(format!(
            "transaction cancelled for reasons {:?}",
            reasons.iter().map(|r| r.code()).collect::<Vec<_>>()
        )))
    }
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

/// Builds update and condition expressions with placeholders for every name and value,
/// so attribute names never collide with DynamoDB's reserved words.
#[derive(Debug, Default)]
pub struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    sets: Vec<String>,
    removes: Vec<String>,
    adds: Vec<String>,
    conditions: Vec<String>,
}

impl Expression {
    /// The placeholder for an attribute name.
    pub fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!(
            "#{}",
            attribute.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    /// The placeholder for a value.
    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    pub fn set(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let (name, value) = (self.name(attribute), self.value(value));
        self.sets.push(format!("{name} = {value}"));
        self
    }

    /// Sets one entry of a map attribute (the map must exist).
    pub fn set_entry(&mut self, map: &str, key: &str, value: AttributeValue) -> &mut Self {
        let (map, key, value) = (self.name(map), self.name(key), self.value(value));
        self.sets.push(format!("{map}.{key} = {value}"));
        self
    }

    pub fn remove(&mut self, attribute: &str) -> &mut Self {
        let name = self.name(attribute);
        self.removes.push(name);
        self
    }

    pub fn add(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let (name, value) = (self.name(attribute), self.value(value));
        self.adds.push(format!("{name} {value}"));
        self
    }

    /// Adds a condition, written with placeholders from [`Expression::name`] and
    /// [`Expression::value`]. Conditions are ANDed.
    pub fn condition(&mut self, condition: impl Into<String>) -> &mut Self {
        self.conditions.push(format!("({})", condition.into()));
        self
    }

    pub fn update_expression(&self) -> Option<String> {
        let mut clauses = Vec::new();
        if !self.sets.is_empty() {
            clauses.push(format!("SET {}", self.sets.join(", ")));
        }
        if !self.removes.is_empty() {
            clauses.push(format!("REMOVE {}", self.removes.join(", ")));
        }
        if !self.adds.is_empty() {
            clauses.push(format!("ADD {}", self.adds.join(", ")));
        }
        (!clauses.is_empty()).then(|| clauses.join(" "))
    }

    pub fn condition_expression(&self) -> Option<String> {
        (!self.conditions.is_empty()).then(|| self.conditions.join(" AND "))
    }

    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_update_and_condition_expressions() {
        let mut e = Expression::default();
        e.set("first_name", string("Ada"))
            .remove("phone")
            .add("version", number(1));
        let (id, email, value) = (
            e.name("id"),
            e.name("email_normalized"),
            e.value(string("a@b.co")),
        );
        e.condition(format!("attribute_exists({id}) AND {email} = {value}"));
        assert_eq!(
            e.update_expression().as_deref(),
            Some("SET #first_name = :v0 REMOVE #phone ADD #version :v1")
        );
        assert_eq!(
            e.condition_expression().as_deref(),
            Some("(attribute_exists(#id) AND #email_normalized = :v2)")
        );
        assert_eq!(e.names().map(|n| n.len()), Some(5));
    }
}
