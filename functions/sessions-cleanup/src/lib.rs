//! The hourly session cleanup (an EventBridge schedule in `template.yaml`): deletes the
//! expired sessions (see [`planoauth::use_cases::clean_expired_sessions`]) until a
//! margin before the invocation's deadline.

use lambda_runtime::LambdaEvent;
use planoauth::App;
use planoauth::store::StoreError;
use planoauth::use_cases::{Report, clean_expired_sessions};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept in hand before the function's deadline.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);
/// The budget when the invocation names no deadline.
const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// The Lambda entry point: the scheduled event's content does not matter.
pub async fn handle(
    app: &App,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Report, StoreError> {
    let budget = budget(event.context.deadline);
    let report = clean_expired_sessions(app, app.clock.now(), Instant::now() + budget).await?;
    tracing::info!(
        deleted = report.deleted,
        kept = report.kept,
        complete = report.complete,
        "expired sessions cleaned"
    );
    Ok(report)
}

/// How long this invocation may work: until the deadline (Unix milliseconds) less a margin.
fn budget(deadline_ms: u64) -> Duration {
    if deadline_ms == 0 {
        return DEFAULT_BUDGET;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(DEADLINE_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_a_margin_before_the_deadline() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let budget = budget(now_ms + 60_000);
        assert!(budget <= Duration::from_secs(55) && budget > Duration::from_secs(50));
        assert_eq!(super::budget(now_ms - 1), Duration::ZERO);
        assert_eq!(super::budget(0), DEFAULT_BUDGET);
    }
}
