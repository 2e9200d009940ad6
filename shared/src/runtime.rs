//! What a function's `main` calls: structured logging, the app built once per cold
//! start, and the Lambda runtime loop.

use crate::app::App;
use crate::aws::{SdkConfig, lambda_config};
use crate::error::BoxError;
use crate::pipeline::{Endpoint, serve};
use lambda_http::{Error, service_fn};
use std::convert::Infallible;

/// Runs an endpoint as a Lambda function until the runtime stops it. `build` makes the
/// endpoint once, at cold start, from the AWS configuration the app uses too.
pub async fn run<E: Endpoint>(
    build: impl FnOnce(&SdkConfig) -> Result<E, BoxError>,
) -> Result<(), Error> {
    init_logging();
    let config = lambda_config()?;
    let app = App::from_env(&config)?;
    let endpoint = build(&config)?;
    lambda_http::run(service_fn(|request| {
        let (app, endpoint) = (&app, &endpoint);
        async move { Ok::<_, Infallible>(serve(app, endpoint, request).await) }
    }))
    .await
}

/// JSON log lines (what CloudWatch Logs Insights queries), level from `RUST_LOG`
/// (default `info`). A panic is logged as one JSON line with its location; the pipeline
/// turns it into `application-crash`.
pub fn init_logging() {
    init_logging_to(std::io::stdout);
}

/// [`init_logging`] with another destination than standard output.
pub fn init_logging_to<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .flatten_event(true)
        .with_writer(writer)
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
