//! How the functions and tools reach AWS: the configuration (from the Lambda environment,
//! or the SDK's whole provider chain for the tools), its HTTPS client, its timeouts and
//! its retries.

use crate::error::BoxError;
use crate::metrics::{self, Metric};
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
pub use aws_types::SdkConfig;
use std::path::Path;
use std::time::Duration;

/// The roots AWS service endpoints chain to: Amazon Trust Services' Amazon Root CA 1 to 4
/// and the Starfield Services Root Certificate Authority - G2 that cross-signs them, as
/// AWS lists them at <https://www.amazontrust.com/repository/> (and explains in "How to
/// prepare for AWS's move to its own certificate authority",
/// <https://aws.amazon.com/blogs/security/how-to-prepare-for-aws-move-to-its-own-certificate-authority/>).
/// Embedded, so that starting a function reads and decodes no system certificate store:
/// that was nearly all of a function's init.
pub const AWS_ROOTS_PEM: &str = include_str!("../certs/aws-roots.pem");

/// The HTTPS client every AWS client of a process shares (one connection pool): rustls on
/// ring, verifying servers against [`AWS_ROOTS_PEM`] only, its connector (and TLS
/// configuration) built on the first request. A local endpoint over plain HTTP (the local
/// stack) needs no roots.
pub fn https_client() -> Result<SharedHttpClient, BoxError> {
    let roots = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOTS_PEM.as_bytes());
    let tls = TlsContext::builder().with_trust_store(roots).build()?;
    let client = Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https();
    Ok(SharedHttpClient::new(ConnectOnFirstUse(client)))
}

/// The SDK's client, less the check it makes as each AWS client is built: that check
/// builds a connector and throws it away, only to load certificates early, which cost
/// every function's init a TLS configuration per AWS client (a fifth of a cold start's
/// instructions in a profile).
#[derive(Debug)]
struct ConnectOnFirstUse(SharedHttpClient);

impl HttpClient for ConnectOnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

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

/// The DynamoDB client of a process, counting the attempts the SDK makes again and the
/// requests DynamoDB throttles ([`AttemptMetrics`]).
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(AttemptMetrics)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Counts, for the metrics, each attempt after an operation's first (the SDK's own
/// retries, which it otherwise absorbs silently) and each answer that is DynamoDB
/// throttling; and times each attempt on the wire, so that a request's record can tell
/// the time spent waiting on DynamoDB from its own ([`metrics::RequestTimer`]).
#[derive(Debug)]
pub struct AttemptMetrics;

/// The current attempt's time on the wire: set as it is sent, ended as its answer comes
/// back or, when sending failed, as the attempt ends (replacing it drops the old one).
#[derive(Debug)]
struct OnTheWire {
    _wait: Option<metrics::DynamoDbWait>,
}

impl Storable for OnTheWire {
    type Storer = StoreReplace<Self>;
}

fn off_the_wire(cfg: &mut ConfigBag) {
    cfg.interceptor_state().store_put(OnTheWire { _wait: None });
}

/// The error codes with which DynamoDB throttles a request.
const THROTTLING: [&str; 3] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];

impl Intercept for AttemptMetrics {
    fn name(&self) -> &'static str {
        "AttemptMetrics"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if cfg
            .load::<RequestAttempts>()
            .is_some_and(|a| a.attempts() > 1)
        {
            metrics::count(Metric::DynamoDbRetries);
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        cfg.interceptor_state().store_put(OnTheWire {
            _wait: Some(metrics::DynamoDbWait::start()),
        });
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        off_the_wire(cfg);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        off_the_wire(cfg);
        // DynamoDB names the error in the body's `__type`, read into memory by now.
        let throttled = context.response().is_some_and(|response| {
            response.status().as_u16() == 400
                && response.body().bytes().is_some_and(|body| {
                    let body = String::from_utf8_lossy(body);
                    THROTTLING.iter().any(|code| body.contains(code))
                })
        });
        if throttled {
            metrics::count(Metric::DynamoDbThrottles);
        }
        Ok(())
    }
}

/// A function's AWS configuration, from what Lambda sets in its environment: the region,
/// the execution role's credentials and (on the local stack) the endpoint. It skips the
/// SDK's configuration chain (profiles, SSO, STS, IMDS), which a function never needs and
/// which costs cold-start time and artefact size.
pub fn lambda_config() -> Result<SdkConfig, BoxError> {
    let variable = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    check_partitions_file(std::env::var_os(PARTITIONS_FILE).as_deref().map(Path::new))?;
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
        .http_client(https_client()?)
        .timeout_config(timeouts())
        .retry_config(retries());
    // The template declares it for every function, empty in AWS (so that `sam local
    // invoke --env-vars` may set it): empty is the SDK's own endpoint.
    if let Some(endpoint) = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|endpoint| !endpoint.trim().is_empty())
    {
        config = config.endpoint_url(endpoint);
    }
    Ok(config.build())
}

/// The variable naming the file the SDK reads its endpoint partitions from, instead of
/// parsing the whole table it embeds as its first client is built (template.yaml sets it
/// to the file of the stack's partition, from `EndpointPartitionsLayer`).
pub const PARTITIONS_FILE: &str = "SMITHY_CLIENT_SDK_CUSTOM_PARTITION";

/// The SDK panics, as the first client is built, when the partitions file it is given
/// cannot be read: a missing layer is told at init, in words, instead.
fn check_partitions_file(path: Option<&Path>) -> Result<(), BoxError> {
    match path {
        Some(path) if !path.is_file() => Err(format!(
            "{PARTITIONS_FILE} names {}, which is not a file (is the partitions layer attached?)",
            path.display()
        )
        .into()),
        _ => Ok(()),
    }
}

/// The AWS configuration through the SDK's whole chain (environment, profiles, SSO, …),
/// with PlanoAuth's HTTPS client, timeouts and retries: for the tools that run outside
/// Lambda.
#[cfg(feature = "provider-chain")]
pub async fn aws_config() -> Result<SdkConfig, BoxError> {
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client()?)
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use sha2::{Digest, Sha256};

    /// The SHA-256 fingerprints AWS publishes for its roots (amazontrust.com/repository).
    const PUBLISHED: [(&str, &str); 5] = [
        (
            "Amazon Root CA 1",
            "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
        ),
        (
            "Amazon Root CA 2",
            "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
        ),
        (
            "Amazon Root CA 3",
            "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
        ),
        (
            "Amazon Root CA 4",
            "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
        ),
        (
            "Starfield Services Root Certificate Authority - G2",
            "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
        ),
    ];

    #[test]
    fn the_trust_store_holds_exactly_the_roots_aws_names() {
        let certificates = CertificateDer::pem_slice_iter(AWS_ROOTS_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("every certificate parses, as the client will parse them");
        let fingerprints: Vec<String> = certificates
            .iter()
            .map(|der| {
                Sha256::digest(der.as_ref())
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect()
            })
            .collect();
        let expected: Vec<&str> = PUBLISHED.iter().map(|(_, print)| *print).collect();
        assert_eq!(fingerprints, expected);
        for (der, (name, _)) in certificates.iter().zip(PUBLISHED) {
            let subject = der
                .as_ref()
                .windows(name.len())
                .any(|w| w == name.as_bytes());
            assert!(subject, "{name} is named in its certificate");
        }
    }

    #[test]
    fn a_partitions_file_that_is_not_there_stops_the_start_in_words() {
        assert!(check_partitions_file(None).is_ok());
        let layer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../layers/endpoint-partitions");
        assert!(check_partitions_file(Some(&layer.join("partitions/aws.json"))).is_ok());
        let missing = "/opt/partitions/aws.json";
        let error = check_partitions_file(Some(Path::new(missing))).unwrap_err();
        assert!(error.to_string().contains(missing), "{error}");
        assert!(check_partitions_file(Some(&layer)).is_err());
    }
}
