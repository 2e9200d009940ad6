//! The scheduled functions, run as EventBridge runs them in AWS: their own entry points,
//! with a scheduled event, on their schedules from `template.yaml` (shorter when
//! `CLEANUP_EVERY` or `EMAIL_RETRY_EVERY` give seconds). Each run logs its report.

use lambda_runtime::{Context, LambdaEvent};
use planoauth::App;
use planoauth::clock::rfc3339;
use planoauth::mail::Mailer;
use planoauth::store::StoreError;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The session cleanup's schedule in `template.yaml`: `rate(1 hour)`, 300 s timeout.
const CLEANUP: Schedule = Schedule {
    name: "sessions-cleanup",
    every_variable: "CLEANUP_EVERY",
    every: Duration::from_secs(60 * 60),
    timeout: Duration::from_secs(300),
};
/// The email retry's: `rate(5 minutes)`, 120 s timeout.
const EMAIL_RETRY: Schedule = Schedule {
    name: "notifications-retry",
    every_variable: "EMAIL_RETRY_EVERY",
    every: Duration::from_secs(5 * 60),
    timeout: Duration::from_secs(120),
};

struct Schedule {
    name: &'static str,
    every_variable: &'static str,
    every: Duration,
    timeout: Duration,
}

impl Schedule {
    fn every(&self) -> Duration {
        std::env::var(self.every_variable)
            .ok()
            .and_then(|seconds| seconds.parse().ok())
            .filter(|seconds| *seconds > 0)
            .map_or(self.every, Duration::from_secs)
    }

    /// A scheduled event as EventBridge delivers it, with a deadline `timeout` away.
    fn event(&self) -> LambdaEvent<serde_json::Value> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let payload = serde_json::json!({
            "version": "0",
            "id": planoauth::tokens::random_id(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": rfc3339(now.as_secs() as i64),
            "resources": [format!("arn:aws:events:local:000000000000:rule/{}", self.name)],
            "detail": {},
        });
        let mut context = Context::default();
        context.request_id = planoauth::tokens::random_id();
        context.deadline = (now + self.timeout).as_millis() as u64;
        LambdaEvent::new(payload, context)
    }
}

/// Starts both schedules in the background; each first runs one period after the start.
/// The functions log their own reports.
pub fn start(app: Arc<App>, mailer: Mailer) {
    let cleanup_app = Arc::clone(&app);
    repeat(CLEANUP, move |event| {
        let app = Arc::clone(&cleanup_app);
        async move { sessions_cleanup::handle(&app, event).await.map(drop) }
    });
    repeat(EMAIL_RETRY, move |event| {
        let (app, mailer) = (Arc::clone(&app), mailer.clone());
        async move {
            notifications_retry::handle(&app, &mailer, event)
                .await
                .map(drop)
        }
    });
}

/// Invokes `run` on `schedule`, with a scheduled event each time.
fn repeat<F, Fut>(schedule: Schedule, run: F)
where
    F: Fn(LambdaEvent<serde_json::Value>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), StoreError>> + Send,
{
    let every = schedule.every();
    tracing::info!(
        function = schedule.name,
        every_s = every.as_secs(),
        "scheduled"
    );
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            ticks.tick().await;
            if let Err(error) = run(schedule.event()).await {
                tracing::error!(function = schedule.name, %error, "scheduled run failed");
            }
        }
    });
}
