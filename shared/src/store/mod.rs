//! The DynamoDB adapters. Each module owns one table's items, and every store borrows the
//! one handle, [`Db`]; this module holds what they share: the error types, how a write
//! copes with what DynamoDB can answer (conflicts, lost answers), item readers and an
//! expression builder. The stores import the domain and nothing above it.

pub mod application_tokens;
pub mod audit;
pub mod clients;
pub mod counters;
pub mod emails;
pub mod employees;
pub mod idempotency;
pub mod notifications;
pub mod password_resets;
pub mod reference;
pub mod registry;
pub mod roles;
pub mod sessions;
pub mod tables;
pub mod throttles;
pub mod users;

use crate::domain::{Profile, ReferenceKind};
use crate::metrics::{self, Metric};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, Delete, KeysAndAttributes, Put,
    ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use reference::KnownReferences;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};
use tables::Tables;

pub type Item = HashMap<String, AttributeValue>;

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

/// Why a write was refused: each maps to one documented status, in one place
/// (`ApiError`'s `From<WriteError>`), so no handler matches on store errors.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("no employee has the id {0}")]
    UnknownEmployee(i64),
    #[error("the email address belongs to another user")]
    EmailTaken,
    #[error("no {} has this id or slug", .0.name())]
    UnknownReference(ReferenceKind),
    #[error("the off-boarding date is before the hiring date")]
    OffBoardedBeforeHired,
    #[error("the user already has a record")]
    AlreadyRegistered,
    #[error("the session was ended or changed by another request")]
    SessionChanged,
    #[error("the employee is deactivated")]
    Deactivated,
    /// A change the caller may not make to its own record (the reason says which).
    #[error("{0}")]
    OwnRecord(&'static str),
    /// The account's password is no longer the one the request checked.
    #[error("the password was changed meanwhile")]
    PasswordChanged,
    /// The account's roles are no longer the ones the request read.
    #[error("the account's roles were changed meanwhile")]
    GrantsChanged,
    /// Another request holding the same idempotency key did the work first.
    #[error("the idempotency key was claimed by another request")]
    KeyClaimed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The one handle every store borrows: the DynamoDB client, the tables' names, the
/// reference data this process has seen exist and the roles it has read. Built once per
/// cold start.
pub struct Db {
    pub client: Client,
    pub tables: Tables,
    known_references: KnownReferences,
    role_cache: roles::RoleCache,
}

impl Db {
    pub fn new(client: Client, tables: Tables) -> Db {
        Db {
            client,
            tables,
            known_references: KnownReferences::default(),
            role_cache: roles::RoleCache::default(),
        }
    }

    pub fn sessions(&self) -> sessions::Sessions<'_> {
        sessions::Sessions {
            client: &self.client,
            table: &self.tables.sessions,
            db: self,
        }
    }

    pub fn application_tokens(&self) -> application_tokens::ApplicationTokens<'_> {
        application_tokens::ApplicationTokens {
            client: &self.client,
            table: &self.tables.application_tokens,
        }
    }

    pub fn roles(&self) -> roles::Roles<'_> {
        roles::Roles {
            client: &self.client,
            table: &self.tables.roles,
            cache: &self.role_cache,
        }
    }

    pub fn users(&self) -> users::Users<'_> {
        users::Users { db: self }
    }

    pub fn employees(&self) -> employees::Employees<'_> {
        employees::Employees { db: self }
    }

    pub fn clients(&self) -> clients::Clients<'_> {
        clients::Clients { db: self }
    }

    pub fn emails(&self) -> emails::Emails<'_> {
        emails::Emails {
            client: &self.client,
            table: &self.tables.emails,
        }
    }

    pub fn reference(&self) -> reference::Reference<'_> {
        reference::Reference {
            client: &self.client,
            table: &self.tables.reference,
            known: &self.known_references,
        }
    }

    pub fn notifications(&self) -> notifications::Notifications<'_> {
        notifications::Notifications {
            client: &self.client,
            table: &self.tables.notifications,
        }
    }

    pub fn registry(&self) -> registry::Registry<'_> {
        registry::Registry {
            client: &self.client,
            table: &self.tables.route_registry,
        }
    }

    pub fn counters(&self) -> counters::Counters<'_> {
        counters::Counters {
            client: &self.client,
            table: &self.tables.counters,
        }
    }

    pub fn throttles(&self) -> throttles::Throttles<'_> {
        throttles::Throttles {
            client: &self.client,
            table: &self.tables.throttles,
        }
    }

    pub fn password_resets(&self) -> password_resets::PasswordResets<'_> {
        password_resets::PasswordResets { db: self }
    }

    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit {
            client: &self.client,
            table: &self.tables.audit,
        }
    }

    pub fn idempotency(&self) -> idempotency::Idempotency<'_> {
        idempotency::Idempotency {
            client: &self.client,
            table: &self.tables.idempotency,
        }
    }
}

pub fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// How long a write keeps retrying while other writes hold its items: long enough for a
/// burst on one record to drain, well inside the functions' 10 s timeout.
pub const CONFLICT_BUDGET: Duration = Duration::from_secs(3);
const CONFLICT_BACKOFF_BASE: Duration = Duration::from_millis(10);
/// Kept short: a held item goes to whichever waiting writer asks first once it is free,
/// so a writer that waited long between attempts would keep losing to those that did not.
const CONFLICT_BACKOFF_CAP: Duration = Duration::from_millis(100);

/// Exponential backoff with full jitter (so that racing writers spread out rather than
/// collide again in step), within [`CONFLICT_BUDGET`].
pub(crate) struct Backoff {
    attempt: u32,
    deadline: Instant,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            attempt: 0,
            deadline: Instant::now() + CONFLICT_BUDGET,
        }
    }

    /// Whether the budget is spent.
    pub(crate) fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Waits before the next attempt; `false` once the budget is spent.
    pub(crate) async fn wait(&mut self) -> bool {
        // A writer that has waited half the budget asks at the base interval from then on,
        // so that the oldest waiters are the likeliest to get the item next.
        let aged = Instant::now() + CONFLICT_BUDGET / 2 >= self.deadline;
        let ceiling = if aged {
            CONFLICT_BACKOFF_BASE
        } else {
            CONFLICT_BACKOFF_BASE
                .saturating_mul(1 << self.attempt.min(16))
                .min(CONFLICT_BACKOFF_CAP)
        };
        let delay = Duration::from_micros(rand::random_range(0..=ceiling.as_micros() as u64));
        if Instant::now() + delay >= self.deadline {
            return false;
        }
        tokio::time::sleep(delay).await;
        self.attempt += 1;
        true
    }
}

/// Sends a single-item write again while DynamoDB refuses it because a transaction holds
/// the item (`TransactionConflictException`, which the SDK does not retry: only the
/// caller knows that resending is safe, and it is, as nothing was applied). Any other
/// answer is the caller's to read.
async fn send_through_conflicts<T, E, R, F, Fut>(
    what: &'static str,
    send: F,
) -> Result<Result<T, SdkError<E, R>>, StoreError>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
{
    send_within(what, &mut Backoff::new(), send).await
}

/// [`send_through_conflicts`] within a budget the caller's other attempts share.
async fn send_within<T, E, R, F, Fut>(
    what: &'static str,
    backoff: &mut Backoff,
    mut send: F,
) -> Result<Result<T, SdkError<E, R>>, StoreError>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
{
    loop {
        let result = send().await;
        let conflicted = matches!(&result, Err(SdkError::ServiceError(service))
            if service.err().code() == Some("TransactionConflictException"));
        if !conflicted {
            return Ok(result);
        }
        metrics::count(Metric::DynamoDbConflicts);
        if !backoff.wait().await {
            return Err(StoreError::Busy(what));
        }
        metrics::count(Metric::DynamoDbRetries);
    }
}

/// Every conditional single-item write stamps the item with a token of its own. The SDK
/// retries an attempt whose answer timed out, and if the first attempt had applied, the
/// retry's condition fails; the token in the item DynamoDB hands back says whether that
/// is our own earlier success. (Transactions have `ClientRequestToken` for this.)
const WRITE_TOKEN: &str = "write_token";

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
pub(crate) async fn update_within(
    client: &Client,
    table: &str,
    key: (&str, AttributeValue),
    expression: &Expression,
    backoff: &mut Backoff,
) -> Result<Conditional, StoreError> {
    let token = crate::tokens::random_id();
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
pub(crate) async fn every_page<F, Fut>(mut page: F) -> Result<Vec<Item>, StoreError>
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

/// Items read ahead of their use, with the caller's token: what was at each key.
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
    let token = crate::tokens::random_id();
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

/// What a step of a transaction stands for, so that a cancellation says which condition
/// refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A write to the record itself (or its own email claim being released).
    Record,
    EmailClaim,
    /// A session's item or its listing: the one a registration or a password change
    /// replaces, the new one's listing, the ones an ending deletes.
    Session,
    /// A write to the user's account, or a check of it, that holds while it is as it was
    /// read (its password, its existence).
    Account,
    /// The condition that the employee a session opens for is active.
    EmployeeActive,
    /// The claim of an idempotency key, written with the work it stands for.
    IdempotencyKey,
    /// The audit record of the change: unconditional, so never the one refused.
    Audit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Written,
    /// A step's condition failed; the first such step in the order of priority: the
    /// idempotency key (the work was done by the key's first request), then the record
    /// (it must be re-read before anything else means something), then the others.
    Refused(Step),
    /// The record's condition failed, and its step asked DynamoDB for the record as it
    /// is now (`ReturnValuesOnConditionCheckFailure`): here it is, without a second read.
    RecordChanged(Item),
    /// DynamoDB kept cancelling the transaction for concurrent ones on the same items
    /// for the whole retry budget; nothing was written.
    Conflict,
}

/// A multi-item write as one DynamoDB transaction: all of it is written, or none.
#[derive(Default)]
pub struct Steps {
    kinds: Vec<Step>,
    items: Vec<TransactWriteItem>,
}

/// What one TransactWriteItems call said.
#[derive(Debug, PartialEq)]
enum Sent {
    Done(Outcome),
    /// Cancelled for a conflict: nothing applied, so the same items may be sent again.
    Conflict,
    /// Our own earlier attempt (same token) is still running: ask again with its token.
    InProgress,
}

impl Steps {
    pub fn push(&mut self, kind: Step, item: TransactWriteItem) {
        self.kinds.push(kind);
        self.items.push(item);
    }

    /// Adds an idempotency key's claim, when the request has a key.
    pub fn push_claim(&mut self, claim: Option<TransactWriteItem>) {
        if let Some(claim) = claim {
            self.push(Step::IdempotencyKey, claim);
        }
    }

    /// Runs the transaction, again while DynamoDB cancels it for a conflict, within
    /// [`CONFLICT_BUDGET`]. Each attempt carries its own `ClientRequestToken`, which the
    /// SDK's retries of that attempt reuse: a retry after a lost answer is answered with
    /// the first attempt's success instead of being applied again.
    pub async fn run(self, client: &Client) -> Result<Outcome, StoreError> {
        self.run_within(client, &mut Backoff::new()).await
    }

    /// [`Steps::run`] within a budget the caller's other attempts share.
    pub(crate) async fn run_within(
        self,
        client: &Client,
        backoff: &mut Backoff,
    ) -> Result<Outcome, StoreError> {
        let mut token = crate::tokens::random_id();
        loop {
            let result = client
                .transact_write_items()
                .set_transact_items(Some(self.items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let sent = match result {
                Ok(_) => Sent::Done(Outcome::Written),
                Err(error) => self.read_refusal(error)?,
            };
            if matches!(sent, Sent::Conflict) {
                metrics::count(Metric::DynamoDbConflicts);
            }
            match sent {
                Sent::Done(outcome) => return Ok(outcome),
                Sent::Conflict if backoff.wait().await => {
                    metrics::count(Metric::DynamoDbRetries);
                    token = crate::tokens::random_id();
                }
                Sent::Conflict => return Ok(Outcome::Conflict),
                Sent::InProgress if backoff.wait().await => {}
                Sent::InProgress => return Err(StoreError::Unresolved(token)),
            }
        }
    }

    fn read_refusal(&self, error: SdkError<TransactWriteItemsError>) -> Result<Sent, StoreError> {
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
        classify(&self.kinds, cancelled.cancellation_reasons())
    }
}

/// What a cancelled transaction's reasons, one per step, say happened. A failed condition
/// is the answer (the idempotency key's first, then the record's, then the first other
/// step's in order); a conflict with no failed condition means the transaction may be
/// sent again.
fn classify(kinds: &[Step], reasons: &[CancellationReason]) -> Result<Sent, StoreError> {
    let failed = |step: Step| {
        kinds.iter().zip(reasons).find(|(kind, reason)| {
            **kind == step && reason.code() == Some("ConditionalCheckFailed")
        })
    };
    if failed(Step::IdempotencyKey).is_some() {
        return Ok(Sent::Done(Outcome::Refused(Step::IdempotencyKey)));
    }
    if let Some((_, reason)) = failed(Step::Record) {
        return Ok(Sent::Done(match reason.item.clone() {
            Some(item) => Outcome::RecordChanged(item),
            None => Outcome::Refused(Step::Record),
        }));
    }
    if let Some(step) = kinds.iter().copied().find(|step| failed(*step).is_some()) {
        return Ok(Sent::Done(Outcome::Refused(step)));
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

    /// A set of profiles; names it does not know are left out.
    pub fn profiles(&self, name: &str) -> Vec<Profile> {
        self.strings(name)
            .iter()
            .filter_map(|profile| Profile::from_name(profile))
            .collect()
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
    /// ([`Outcome::RecordChanged`]).
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

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    #[test]
    fn a_cancelled_transaction_is_read_in_order_of_priority() {
        use Step::*;
        let kinds = [Record, EmailClaim, Session, IdempotencyKey];
        let answer = |codes: [&str; 4]| classify(&kinds, &codes.map(reason)).ok();
        let done = |outcome| Some(Sent::Done(outcome));
        assert_eq!(
            answer([
                "None",
                "ConditionalCheckFailed",
                "None",
                "ConditionalCheckFailed"
            ]),
            done(Outcome::Refused(IdempotencyKey)),
            "the key's first request did the work"
        );
        assert_eq!(
            answer([
                "ConditionalCheckFailed",
                "ConditionalCheckFailed",
                "None",
                "None"
            ]),
            done(Outcome::Refused(Record)),
            "the record first, as nothing else means anything until it is read again"
        );
        assert_eq!(
            answer([
                "None",
                "TransactionConflict",
                "ConditionalCheckFailed",
                "None"
            ]),
            done(Outcome::Refused(Session)),
            "a failed condition says more than a conflict"
        );
        assert_eq!(
            answer(["None", "TransactionConflict", "None", "None"]),
            Some(Sent::Conflict)
        );
        assert_eq!(answer(["None", "ValidationError", "None", "None"]), None);
    }

    #[test]
    fn a_refused_record_comes_back_when_the_step_asked_for_it() {
        let item = Item::from([("id".to_owned(), number(7))]);
        let refused = CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .set_item(Some(item.clone()))
            .build();
        assert_eq!(
            classify(&[Step::Record], &[refused]).ok(),
            Some(Sent::Done(Outcome::RecordChanged(item)))
        );
    }

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
