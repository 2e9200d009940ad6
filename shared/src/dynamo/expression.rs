//! Update and condition expressions, written with placeholders.

use super::StoreError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use std::collections::HashMap;

/// Builds update and condition expressions with placeholders for every name and value,
/// so attribute names never collide with DynamoDB's reserved words.
#[derive(Debug, Default, Clone)]
pub struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    sets: Vec<String>,
    removes: Vec<String>,
    adds: Vec<String>,
    deletes: Vec<String>,
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

    /// Takes elements out of a set attribute.
    pub fn delete(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let (name, value) = (self.name(attribute), self.value(value));
        self.deletes.push(format!("{name} {value}"));
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
        if !self.deletes.is_empty() {
            clauses.push(format!("DELETE {}", self.deletes.join(", ")));
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

    /// The update as a transaction step on the item with `key` in `table`.
    pub fn update_step(
        &self,
        table: &str,
        key: (&str, AttributeValue),
    ) -> Result<TransactWriteItem, StoreError> {
        self.transact_update(table, key, None)
    }

    /// [`Expression::update_step`], whose refusal hands back the item as it is
    /// (in its [`Outcome::Refused`](super::Outcome::Refused)).
    pub fn update_step_returning_old(
        &self,
        table: &str,
        key: (&str, AttributeValue),
    ) -> Result<TransactWriteItem, StoreError> {
        self.transact_update(
            table,
            key,
            Some(ReturnValuesOnConditionCheckFailure::AllOld),
        )
    }

    /// The transaction step that checks this expression's condition on the item at `key`,
    /// writing nothing.
    pub fn check_step(
        &self,
        table: &str,
        key: (&str, AttributeValue),
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(table)
            .key(key.0, key.1)
            .set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
            .build()?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The transaction step that deletes the item at `key` on this expression's condition.
    pub fn delete_step(
        &self,
        table: &str,
        key: (&str, AttributeValue),
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(table)
            .key(key.0, key.1)
            .set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    fn transact_update(
        &self,
        table: &str,
        key: (&str, AttributeValue),
        on_refusal: Option<ReturnValuesOnConditionCheckFailure>,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(table)
            .key(key.0, key.1)
            .set_update_expression(self.update_expression())
            .set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
            .set_return_values_on_condition_check_failure(on_refusal)
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::{number, string};

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
