//! Single-item writes that apply once: conditional updates and puts that recognise their
//! own earlier success when an answer was lost and the SDK sent them again.

use super::retry::{send_through_conflicts, send_within, token};
use super::{Backoff, Expression, Item, StoreError, string};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};

/// Every conditional single-item write stamps the item with a token of its own. The SDK
/// retries an attempt whose answer timed out, and if the first attempt had applied, the
/// retry's condition fails; the token in the item DynamoDB hands back says whether that
/// is our own earlier success. (Transactions have `ClientRequestToken` for this.)
pub const WRITE_TOKEN: &str = "write_token";

fn written_by(item: Option<&Item>, token: &str) -> bool {
    matches!(item.and_then(|item| item.get(WRITE_TOKEN)), Some(AttributeValue::S(t)) if t == token)
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
/// the caller learns why without a second read. It goes through transaction conflicts,
/// and a retry that finds its own earlier write counts as updated, so it applies once.
pub async fn update_if(
    client: &Client,
    table: &str,
    key: (&str, AttributeValue),
    expression: &Expression,
) -> Result<Conditional, StoreError> {
    update_within(client, table, key, expression, &mut Backoff::new()).await
}

/// [`update_if`] within a budget the caller's other attempts share.
pub async fn update_within(
    client: &Client,
    table: &str,
    key: (&str, AttributeValue),
    expression: &Expression,
    backoff: &mut Backoff,
) -> Result<Conditional, StoreError> {
    let token = token();
    let mut e = expression.clone();
    e.set(WRITE_TOKEN, string(&token));
    let (stamp, ours) = (e.name(WRITE_TOKEN), e.value(string(&token)));
    e.condition(format!(
        "attribute_not_exists({stamp}) OR {stamp} <> {ours}"
    ));
    let result = send_within("an update", backoff, || {
        client
            .update_item()
            .table_name(table)
            .key(key.0, key.1.clone())
            .set_update_expression(e.update_expression())
            .set_condition_expression(e.condition_expression())
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
    })
    .await?;
    match result {
        Ok(output) => output
            .attributes
            .map(Conditional::Updated)
            .ok_or_else(|| StoreError::Malformed("UpdateItem returned no item".into())),
        Err(error) => match error.into_service_error() {
            UpdateItemError::ConditionalCheckFailedException(failed) => Ok(match failed.item {
                Some(item) if written_by(Some(&item), &token) => Conditional::Updated(item),
                stored => Conditional::Refused(stored),
            }),
            other => Err(StoreError::DynamoDb(Box::new(other.into()))),
        },
    }
}

/// Puts an item, replacing any with its key.
pub async fn put(
    client: &Client,
    table: &str,
    item: Item,
    what: &'static str,
) -> Result<(), StoreError> {
    send_through_conflicts(what, || {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item.clone()))
            .send()
    })
    .await??;
    Ok(())
}

/// Puts a new item unless one with its key exists. Returns `false` when another item is
/// there; a retry that finds the item its own earlier attempt wrote counts as written.
pub async fn put_new(
    client: &Client,
    table: &str,
    key_attribute: &str,
    mut item: Item,
) -> Result<bool, StoreError> {
    let token = token();
    item.insert(WRITE_TOKEN.into(), string(&token));
    let result = send_through_conflicts("a put", || {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", key_attribute)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
    })
    .await?;
    match result {
        Ok(_) => Ok(true),
        Err(error) => match error.into_service_error() {
            PutItemError::ConditionalCheckFailedException(failed) => {
                Ok(written_by(failed.item.as_ref(), &token))
            }
            other => Err(StoreError::DynamoDb(Box::new(other.into()))),
        },
    }
}

/// A transaction step that puts a new item, unless one with its key exists.
pub fn put_new_step(
    table: &str,
    item: Item,
    key_attribute: &str,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#key)")
        .expression_attribute_names("#key", key_attribute)
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}
