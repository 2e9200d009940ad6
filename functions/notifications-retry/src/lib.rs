//! The five-minute email retry (an EventBridge schedule in `template.yaml`): sends again
//! the welcome emails and security notices SES refused, as [`planoauth::use_cases::retry_due_emails`] describes,
//! until a margin before the invocation's deadline.

use lambda_runtime::LambdaEvent;
use planoauth::App;
use planoauth::mail::Mailer;
use planoauth::metrics::{self, Metric};
use planoauth::runtime::work_budget;
use planoauth::store::StoreError;
use planoauth::use_cases::{RetryReport, retry_due_emails};
use std::time::Instant;

/// The Lambda entry point: the scheduled event's content does not matter.
pub async fn handle(
    app: &App,
    mailer: &Mailer,
    event: LambdaEvent<serde_json::Value>,
) -> Result<RetryReport, StoreError> {
    let stop_by = Instant::now() + work_budget(event.context.deadline);
    let report = retry_due_emails(app, mailer, app.clock.now(), stop_by).await;
    if let Ok(report) = &report {
        metrics::count(Metric::EmailRetryRuns);
        tracing::info!(
            sent = report.sent,
            failed = report.failed,
            taken = report.taken,
            given_up = report.given_up,
            complete = report.complete,
            "failed emails retried"
        );
    }
    metrics::emit(None);
    report
}
