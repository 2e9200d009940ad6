//! The hourly session cleanup (an EventBridge schedule in `template.yaml`): deletes the
//! expired sessions (see [`planoauth::use_cases::clean_expired_sessions`]) until a
//! margin before the invocation's deadline.

use lambda_runtime::LambdaEvent;
use planoauth::App;
use planoauth::metrics::{self, Metric};
use planoauth::runtime::work_budget;
use planoauth::store::StoreError;
use planoauth::use_cases::{Report, clean_expired_sessions};
use std::time::Instant;

/// The Lambda entry point: the scheduled event's content does not matter.
pub async fn handle(
    app: &App,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Report, StoreError> {
    let stop_by = Instant::now() + work_budget(event.context.deadline);
    let report = clean_expired_sessions(app, app.clock.now(), stop_by).await;
    if let Ok(report) = &report {
        metrics::count_n(Metric::CleanupDeletions, report.deleted as u64);
        // A run that stopped at its deadline still ran: the next one picks up after it.
        metrics::count(Metric::CleanupRuns);
        tracing::info!(
            deleted = report.deleted,
            kept = report.kept,
            complete = report.complete,
            "expired sessions cleaned"
        );
    }
    metrics::emit(None);
    report
}
