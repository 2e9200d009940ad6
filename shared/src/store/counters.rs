//! Integer id allocation. One atomic ADD per id: DynamoDB serialises updates to an item,
//! so racing requests never receive the same number. An ADD retried after its answer was
//! lost counts twice, which skips a number: ids stay unique, not gapless.

use super::{StoreError, number, string};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

pub struct Counters<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Counters<'_> {
    /// The next value of the named sequence, starting at 1.
    pub async fn next(&self, sequence: &str) -> Result<i64, StoreError> {
        let output = super::send_through_conflicts("allocating an id", || {
            self.client
                .update_item()
                .table_name(self.table)
                .key("name", string(sequence))
                .update_expression("ADD next_value :one")
                .expression_attribute_values(":one", number(1))
                .return_values(ReturnValue::UpdatedNew)
                .send()
        })
        .await??;
        output
            .attributes()
            .and_then(|item| item.get("next_value"))
            .and_then(|value| value.as_n().ok())
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| StoreError::Malformed(format!("counter `{sequence}` returned no value")))
    }
}
