//! Retrying what DynamoDB refused for a concurrent transaction: with jittered exponential
//! backoff, within a budget a write's attempts share.

use super::StoreError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a write keeps retrying while other writes hold its items: long enough for a
/// burst on one record to drain, well inside a Lambda function's usual timeouts.
pub const CONFLICT_BUDGET: Duration = Duration::from_secs(3);
const CONFLICT_BACKOFF_BASE: Duration = Duration::from_millis(10);
/// Kept short: a held item goes to whichever waiting writer asks first once it is free,
/// so a writer that waited long between attempts would keep losing to those that did not.
const CONFLICT_BACKOFF_CAP: Duration = Duration::from_millis(100);

/// What the toolkit tells an observer (metrics, say) as it copes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// DynamoDB refused or cancelled a write for a concurrent transaction.
    Conflict,
    /// The write was sent again after one.
    Retry,
}

static OBSERVER: OnceLock<fn(Event)> = OnceLock::new();

/// Names the function told of every [`Event`], once per process (later calls change
/// nothing).
pub fn observe(observer: fn(Event)) {
    let _ = OBSERVER.set(observer);
}

pub(super) fn tell(event: Event) {
    if let Some(observer) = OBSERVER.get() {
        observer(event);
    }
}

/// Exponential backoff with full jitter (so that racing writers spread out rather than
/// collide again in step), within [`CONFLICT_BUDGET`].
pub struct Backoff {
    attempt: u32,
    deadline: Instant,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

impl Backoff {
    pub fn new() -> Backoff {
        Backoff {
            attempt: 0,
            deadline: Instant::now() + CONFLICT_BUDGET,
        }
    }

    /// Whether the budget is spent.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Waits before the next attempt; `false` once the budget is spent.
    pub async fn wait(&mut self) -> bool {
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
pub async fn send_through_conflicts<T, E, R, F, Fut>(
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
pub async fn send_within<T, E, R, F, Fut>(
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
        tell(Event::Conflict);
        if !backoff.wait().await {
            return Err(StoreError::Busy(what));
        }
        tell(Event::Retry);
    }
}

/// A random token (128 bits, hex) for a write or a transaction to know itself by.
pub(super) fn token() -> String {
    format!("{:032x}", rand::random::<u128>())
}
