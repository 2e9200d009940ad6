//! How the functions and tools reach AWS: the configuration (from the Lambda environment,
//! or the SDK's whole provider chain for the tools), its timeouts and its retries.

use crate::error::BoxError;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
pub use aws_types::SdkConfig;
use std::time::Duration;

/// Every AWS call gives up well within the function's timeout, so a slow dependency
/// becomes an `application-crash` the caller sees rather than a Lambda timeout.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// The SDK retries throttling, server errors and timed-out attempts by itself; these
/// settings let it absorb a few in a row (at 8 % of calls failing, six attempts all fail
/// about once in four million calls) within the operation timeout, with backoffs in the
/// tens of milliseconds that suit DynamoDB rather than the SDK's default of a second.
/// Transaction conflicts are not the SDK's to retry: the stores do that.
pub fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(6)
        .with_initial_backoff(Duration::from_millis(25))
        .with_max_backoff(Duration::from_secs(1))
}

/// A function's AWS configuration, from what Lambda sets in its environment: the region,
/// the execution role's credentials and (on the local stack) the endpoint. It skips the
/// SDK's configuration chain (profiles, SSO, STS, IMDS), which a function never needs and
/// which costs cold-start time and artefact size.
pub fn lambda_config() -> Result<SdkConfig, BoxError> {
    let variable = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let credentials = Credentials::new(
        variable("AWS_ACCESS_KEY_ID")?,
        variable("AWS_SECRET_ACCESS_KEY")?,
        std::env::var("AWS_SESSION_TOKEN").ok(),
        None,
        "lambda-environment",
    );
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(variable("AWS_REGION")?))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .timeout_config(timeouts())
        .retry_config(retries());
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    Ok(config.build())
}

/// The AWS configuration through the SDK's whole chain (environment, profiles, SSO, …),
/// with PlanoAuth's timeouts: for the tools that run outside Lambda.
#[cfg(feature = "provider-chain")]
pub async fn aws_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await
}
