//! What a function's `main` calls: structured logging, the app built once per cold
//! start, and the Lambda runtime loop.

use crate::app::App;
use crate::aws::{SdkConfig, lambda_config};
use crate::error::BoxError;
use crate::pipeline::{Endpoint, serve};
use lambda_http::{Error, service_fn};
use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Runs an endpoint as a Lambda function until the runtime stops it. `build` makes the
/// endpoint once, at cold start, from the AWS configuration the app uses too.
pub async fn run<E: Endpoint>(
    build: impl FnOnce(&SdkConfig) -> Result<E, BoxError>,
) -> Result<(), Error> {
    init_logging();
    let config = lambda_config()?;
    let app = App::from_env(&config)?;
    // A function given the breached passwords reads them as it starts, so that a layer
    // missing or unreadable stops the start in words, not its first password.
    if std::env::var_os(crate::passwords::breached::FILE_VARIABLE).is_some() {
        crate::passwords::breached::loaded()?;
    }
    let endpoint = build(&config)?;
    lambda_http::run(service_fn(|request| {
        let (app, endpoint) = (&app, &endpoint);
        async move { Ok::<_, Infallible>(serve(app, endpoint, request).await) }
    }))
    .await
}

/// Time a scheduled function keeps in hand before its deadline.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);
/// The budget when the invocation names no deadline.
const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// How long a scheduled invocation may work: until its deadline (Unix milliseconds, as
/// the runtime gives it) less a margin, so that it stops cleanly and reports.
pub fn work_budget(deadline_ms: u64) -> Duration {
    if deadline_ms == 0 {
        return DEFAULT_BUDGET;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(DEADLINE_MARGIN)
}

/// JSON log lines (what CloudWatch Logs Insights queries), levels from `RUST_LOG`
/// (`warn`, or per target as in `warn,planoauth=info`; default `info`; release builds
/// have no debug or trace events, debug builds all of them). A panic
/// is logged as one JSON line with its location; the pipeline turns it into
/// `application-crash`.
pub fn init_logging() {
    init_logging_to(std::io::stdout);
}

/// The levels `RUST_LOG` sets, `info` when it is unset or unreadable. A plain list of
/// targets and levels rather than `EnvFilter`'s directives, whose regular expressions
/// were a tenth of every artefact.
fn log_levels(setting: Option<&str>) -> Targets {
    setting
        .and_then(|setting| setting.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO))
}

/// [`init_logging`] with another destination than standard output.
pub fn init_logging_to<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let installed = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_target(false)
        .flatten_event(true)
        .with_writer(writer)
        .finish()
        .with(log_levels(std::env::var("RUST_LOG").ok().as_deref()))
        .try_init()
        .is_ok();
    if installed {
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
            tracing::error!(panic = message, location, "panic");
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

    #[test]
    fn the_budget_keeps_a_margin_before_the_deadline() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let budget = work_budget(now_ms + 60_000);
        assert!(budget <= Duration::from_secs(55) && budget > Duration::from_secs(50));
        assert_eq!(work_budget(now_ms - 1), Duration::ZERO);
        assert_eq!(work_budget(0), DEFAULT_BUDGET);
    }

    #[test]
    fn log_levels_come_from_rust_log_and_default_to_info() {
        assert_eq!(log_levels(None).default_level(), Some(LevelFilter::INFO));
        assert_eq!(
            log_levels(Some("warn")).default_level(),
            Some(LevelFilter::WARN)
        );
        let per_target = log_levels(Some("error,aws_smithy_runtime=debug"));
        assert!(per_target.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!per_target.would_enable("planoauth", &Level::WARN));
        assert_eq!(
            log_levels(Some("=garbled=")).default_level(),
            Some(LevelFilter::INFO)
        );
    }
}
