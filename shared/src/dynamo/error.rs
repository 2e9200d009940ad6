//! What a call to DynamoDB can end in, besides its answer.

use super::retry::CONFLICT_BUDGET;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB call failed: {}", DisplayErrorContext(.0))]
    DynamoDb(#[source] Box<aws_sdk_dynamodb::Error>),
    #[error("stored item is malformed: {0}")]
    Malformed(String),
    /// Other writes held the items for the whole retry budget; nothing was written.
    #[error("{0} kept conflicting with concurrent writes for {CONFLICT_BUDGET:?}")]
    Busy(&'static str),
    /// DynamoDB still reported our own transaction in progress after every retry, so
    /// whether it applied is not known.
    #[error("transaction {0} was still in progress after every retry")]
    Unresolved(String),
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
