//! A toolkit for DynamoDB that knows nothing of PlanoAuth: items and their attributes,
//! the error of a call, how a write copes with what DynamoDB can answer (transaction
//! conflicts, throttling past the SDK's retries, answers lost after the write applied),
//! conditional updates, puts, batch reads and paging, and transactions whose cancellation
//! is read in the caller's order of priority. It imports nothing of the crate above it.

mod error;
mod expression;
mod read;
mod retry;
mod transaction;
mod write;

pub use error::StoreError;
pub use expression::Expression;
pub use read::{ItemKey, ReadAhead, Reader, batch_get, every_page, get_with};
pub use retry::{Backoff, CONFLICT_BUDGET, Event, observe, send_through_conflicts, send_within};
pub use transaction::{Outcome, Transaction};
pub use write::{Conditional, WRITE_TOKEN, put, put_new, put_new_step, update_if, update_within};

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// An item as DynamoDB holds it: attribute names and values.
pub type Item = HashMap<String, AttributeValue>;

pub fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
