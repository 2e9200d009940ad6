//! What a function's `main` calls: structured logging, the app built once per cold
//! start, and the Lambda runtime loop.

use crate::app::App;
use crate::pipeline::{Endpoint, serve};
use lambda_http::{Error, service_fn};
use std::convert::Infallible;

/// Runs `endpoint` as a Lambda function until the runtime stops it.
pub async fn run<E: Endpoint>(endpoint: E) -> Result<(), Error> {
    init_logging();
    let app = App::from_env().await?;
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
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .flatten_event(true)
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
