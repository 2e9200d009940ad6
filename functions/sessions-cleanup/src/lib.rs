//! The hourly session cleanup (an EventBridge schedule in `template.yaml`).
//!
//! It deletes every session past its 7-day or 72-hour expiry and keeps `remember_me`
//! ones. It finds them through two sparse indexes (sessions that can expire, by last use
//! and by creation, spread over shards) rather than a Scan, a page at a time, and stops
//! before the invocation's deadline; the next run picks up where this one stopped.
//! Each delete re-checks expiry in its condition, so running twice at once, or again
//! (scheduled events arrive at least once), deletes nothing twice and nothing live.

use futures_util::StreamExt;
use lambda_runtime::LambdaEvent;
use planoauth::App;
use planoauth::store::StoreError;
use planoauth::store::sessions::{
    ABSOLUTE_LIFETIME, AGE_INDEX, EXPIRY_SHARDS, IDLE_INDEX, IDLE_LIFETIME,
};
use serde::Serialize;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Deletes in flight at once: enough to be quick, few enough not to throttle the table.
const CONCURRENT_DELETES: usize = 16;
/// Time kept in hand before the function's deadline.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);
/// The budget when the invocation names no deadline.
const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Sessions this run deleted.
    pub deleted: usize,
    /// Candidates left alone: used meanwhile, or deleted by another run.
    pub kept: usize,
    /// Whether every index was read to its end before the deadline.
    pub complete: bool,
}

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

pub async fn clean_expired_sessions(
    app: &App,
    now: i64,
    stop_by: Instant,
) -> Result<Report, StoreError> {
    let sessions = app.sessions();
    let mut report = Report::default();
    for (index, cutoff) in [
        (IDLE_INDEX, now - IDLE_LIFETIME),
        (AGE_INDEX, now - ABSOLUTE_LIFETIME),
    ] {
        for shard in 0..EXPIRY_SHARDS {
            let mut start = None;
            loop {
                if Instant::now() >= stop_by {
                    return Ok(report);
                }
                let (candidates, next) = sessions
                    .expiry_candidates(index, shard, cutoff, start)
                    .await?;
                let mut deletes = futures_util::stream::iter(candidates)
                    .map(|hash| sessions.delete_if_expired(hash, now))
                    .buffer_unordered(CONCURRENT_DELETES);
                while let Some(deleted) = deletes.next().await {
                    if deleted? {
                        report.deleted += 1;
                    } else {
                        report.kept += 1;
                    }
                }
                match next {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
        }
    }
    report.complete = true;
    Ok(report)
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
