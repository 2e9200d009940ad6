//! Multi-item writes as one TransactWriteItems: all of it is written, or none. Each step is
//! tagged with a kind of the caller's, so that a cancellation says which condition refused,
//! read in the caller's order of priority.

use super::retry::{Event, tell, token};
use super::{Backoff, Item, StoreError};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};
use std::fmt::Debug;

/// What a transaction did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<K> {
    Written,
    /// A step's condition failed: the first such step in the caller's order of priority,
    /// else in the transaction's order. `item` is the item as it is, when the step asked
    /// DynamoDB for it (`ReturnValuesOnConditionCheckFailure`) and there is one.
    Refused {
        step: K,
        item: Option<Item>,
    },
    /// DynamoDB kept cancelling the transaction for concurrent ones on the same items
    /// for the whole retry budget; nothing was written.
    Conflict,
}

/// A transaction being built: its steps and what each stands for.
pub struct Transaction<K> {
    kinds: Vec<K>,
    items: Vec<TransactWriteItem>,
}

impl<K> Default for Transaction<K> {
    fn default() -> Self {
        Transaction {
            kinds: Vec::new(),
            items: Vec::new(),
        }
    }
}

/// What one TransactWriteItems call said.
#[derive(Debug, PartialEq)]
enum Sent<K> {
    Done(Outcome<K>),
    /// Cancelled for a conflict: nothing applied, so the same items may be sent again.
    Conflict,
    /// Our own earlier attempt (same token) is still running: ask again with its token.
    InProgress,
}

impl<K: Copy + PartialEq + Debug> Transaction<K> {
    pub fn push(&mut self, kind: K, item: TransactWriteItem) -> &mut Self {
        self.kinds.push(kind);
        self.items.push(item);
        self
    }

    /// Adds a step when there is one.
    pub fn push_some(&mut self, kind: K, item: Option<TransactWriteItem>) -> &mut Self {
        if let Some(item) = item {
            self.push(kind, item);
        }
        self
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Runs the transaction, again while DynamoDB cancels it for a conflict, within
    /// [`CONFLICT_BUDGET`](super::CONFLICT_BUDGET); a refusal is read with `priority`
    /// first. Each attempt carries its own `ClientRequestToken`, which the SDK's retries
    /// of that attempt reuse: a retry after a lost answer is answered with the first
    /// attempt's success instead of being applied again.
    pub async fn run(self, client: &Client, priority: &[K]) -> Result<Outcome<K>, StoreError> {
        self.run_within(client, priority, &mut Backoff::new()).await
    }

    /// [`Transaction::run`] within a budget the caller's other attempts share.
    pub async fn run_within(
        self,
        client: &Client,
        priority: &[K],
        backoff: &mut Backoff,
    ) -> Result<Outcome<K>, StoreError> {
        let mut token = token();
        loop {
            let result = client
                .transact_write_items()
                .set_transact_items(Some(self.items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let sent = match result {
                Ok(_) => Sent::Done(Outcome::Written),
                Err(error) => self.read_refusal(error, priority)?,
            };
            if matches!(sent, Sent::Conflict) {
                tell(Event::Conflict);
            }
            match sent {
                Sent::Done(outcome) => return Ok(outcome),
                Sent::Conflict if backoff.wait().await => {
                    tell(Event::Retry);
                    token = super::retry::token();
                }
                Sent::Conflict => return Ok(Outcome::Conflict),
                Sent::InProgress if backoff.wait().await => {}
                Sent::InProgress => return Err(StoreError::Unresolved(token)),
            }
        }
    }

    fn read_refusal(
        &self,
        error: SdkError<TransactWriteItemsError>,
        priority: &[K],
    ) -> Result<Sent<K>, StoreError> {
        let cancelled = match error {
            SdkError::ServiceError(service) => match service.into_err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled,
                TransactWriteItemsError::TransactionInProgressException(_) => {
                    return Ok(Sent::InProgress);
                }
                other => return Err(StoreError::DynamoDb(Box::new(other.into()))),
            },
            other => return Err(other.into()),
        };
        classify(&self.kinds, cancelled.cancellation_reasons(), priority)
    }
}

/// What a cancelled transaction's reasons, one per step, say happened. A failed condition
/// is the answer (the first of `priority`'s kinds whose step failed, else the first step
/// that failed); a conflict with no failed condition means the transaction may be sent
/// again.
fn classify<K: Copy + PartialEq + Debug>(
    kinds: &[K],
    reasons: &[CancellationReason],
    priority: &[K],
) -> Result<Sent<K>, StoreError> {
    let failed: Vec<(K, &CancellationReason)> = kinds
        .iter()
        .zip(reasons)
        .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
        .map(|(kind, reason)| (*kind, reason))
        .collect();
    let first = priority
        .iter()
        .find_map(|wanted| failed.iter().find(|(kind, _)| kind == wanted))
        .or_else(|| failed.first());
    if let Some((step, reason)) = first {
        return Ok(Sent::Done(Outcome::Refused {
            step: *step,
            item: reason.item.clone(),
        }));
    }
    if reasons
        .iter()
        .any(|reason| reason.code() == Some("TransactionConflict"))
    {
        return Ok(Sent::Conflict);
    }
    Err(StoreError::Malformed(format!(
        "transaction cancelled for reasons {:?}",
        reasons.iter().map(|r| r.code()).collect::<Vec<_>>()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::number;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Record,
        Claim,
        Other,
        Key,
    }

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    fn refused(step: Kind) -> Option<Sent<Kind>> {
        Some(Sent::Done(Outcome::Refused { step, item: None }))
    }

    #[test]
    fn a_cancelled_transaction_is_read_in_the_callers_order_of_priority() {
        use Kind::*;
        let kinds = [Record, Claim, Other, Key];
        let priority = [Key, Record];
        let answer = |codes: [&str; 4]| classify(&kinds, &codes.map(reason), &priority).ok();
        let failed = "ConditionalCheckFailed";
        assert_eq!(answer(["None", failed, "None", failed]), refused(Key));
        assert_eq!(answer([failed, failed, "None", "None"]), refused(Record));
        assert_eq!(
            answer(["None", "TransactionConflict", failed, "None"]),
            refused(Other),
            "a failed condition says more than a conflict"
        );
        assert_eq!(
            answer(["None", "TransactionConflict", "None", "None"]),
            Some(Sent::Conflict)
        );
        assert_eq!(answer(["None", "ValidationError", "None", "None"]), None);
        let without_priority = classify(&kinds, &["None", failed, failed, "None"].map(reason), &[]);
        assert_eq!(
            without_priority.ok(),
            refused(Claim),
            "else the first that failed"
        );
    }

    #[test]
    fn a_refused_step_hands_back_the_item_it_asked_for() {
        let item = Item::from([("id".to_owned(), number(7))]);
        let refusal = CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .set_item(Some(item.clone()))
            .build();
        assert_eq!(
            classify(&[Kind::Record], &[refusal], &[]).ok(),
            Some(Sent::Done(Outcome::Refused {
                step: Kind::Record,
                item: Some(item)
            }))
        );
    }
}
