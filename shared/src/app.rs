//! What a function builds once per cold start and every request reuses: the AWS clients,
//! the table names, the clock and the route registry's switches.

use crate::clock::{Clock, SystemClock};
use crate::error::BoxError;
use crate::store::reference::KnownReferences;
use crate::store::registry::Switches;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
pub use aws_types::SdkConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The DynamoDB tables, by the names `template.yaml` hands each function in its
/// environment (one variable per table resource: `SessionsTable` → `SESSIONS_TABLE`).
#[derive(Debug, Clone)]
pub struct Tables {
    pub sessions: String,
    pub application_tokens: String,
    pub roles: String,
    pub users: String,
    pub emails: String,
    pub employees: String,
    pub reference: String,
    pub counters: String,
    pub notifications: String,
    pub clients: String,
    pub route_registry: String,
    pub idempotency: String,
}

impl Tables {
    /// Every table resource of `template.yaml`, with the field it fills.
    pub const RESOURCES: [&'static str; 12] = [
        "SessionsTable",
        "ApplicationTokensTable",
        "RolesTable",
        "UsersTable",
        "EmailsTable",
        "EmployeesTable",
        "ReferenceTable",
        "CountersTable",
        "NotificationsTable",
        "ClientsTable",
        "RouteRegistryTable",
        "IdempotencyTable",
    ];

    /// Names the tables by a rule, e.g. a prefix and the resource name.
    pub fn named(name: impl FnMut(&str) -> String) -> Tables {
        let [
            sessions,
            application_tokens,
            roles,
            users,
            emails,
            employees,
            reference,
            counters,
            notifications,
            clients,
            route_registry,
            idempotency,
        ] = Tables::RESOURCES.map(name);
        Tables {
            sessions,
            application_tokens,
            roles,
            users,
            emails,
            employees,
            reference,
            counters,
            notifications,
            clients,
            route_registry,
            idempotency,
        }
    }

    pub fn from_env() -> Result<Tables, BoxError> {
        let mut missing = Vec::new();
        let tables = Tables::named(|resource| {
            let variable = env_variable(resource);
            std::env::var(&variable).unwrap_or_else(|_| {
                missing.push(variable);
                String::new()
            })
        });
        if missing.is_empty() {
            Ok(tables)
        } else {
            Err(format!(
                "missing table names in the environment: {}",
                missing.join(", ")
            )
            .into())
        }
    }
}

/// `SessionsTable` → `SESSIONS_TABLE`.
pub fn env_variable(resource: &str) -> String {
    let mut variable = String::new();
    for (index, c) in resource.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            variable.push('_');
        }
        variable.push(c.to_ascii_uppercase());
    }
    variable
}

pub struct App {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub tables: Tables,
    pub clock: Arc<dyn Clock>,
    /// The route registry's switches, as last read.
    pub switches: SwitchCache,
    /// The reference data entries this process has seen exist.
    pub known_references: KnownReferences,
}

/// How long a function trusts the route registry's switches before reading them again:
/// an operator's switch takes effect within this time, without a redeploy.
pub const SWITCH_CACHE_TTL: Duration = Duration::from_secs(30);

impl App {
    pub fn new(dynamodb: aws_sdk_dynamodb::Client, tables: Tables, clock: Arc<dyn Clock>) -> App {
        App {
            dynamodb,
            tables,
            clock,
            switches: SwitchCache::new(SWITCH_CACHE_TTL),
            known_references: KnownReferences::default(),
        }
    }

    /// The production wiring: clients from the Lambda environment, tables from
    /// `template.yaml`'s variables, the system clock.
    pub fn from_env(config: &SdkConfig) -> Result<App, BoxError> {
        Ok(App::new(
            aws_sdk_dynamodb::Client::new(config),
            Tables::from_env()?,
            Arc::new(SystemClock),
        ))
    }
}

/// The switches of each route this function serves, each kept for a time.
pub struct SwitchCache {
    ttl: Duration,
    entries: Mutex<HashMap<&'static str, (Instant, Switches)>>,
}

impl SwitchCache {
    pub fn new(ttl: Duration) -> SwitchCache {
        SwitchCache {
            ttl,
            entries: Mutex::default(),
        }
    }

    pub fn get(&self, path: &'static str) -> Option<Switches> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(path)
            .filter(|(read_at, _)| read_at.elapsed() < self.ttl)
            .map(|(_, switches)| *switches)
    }

    pub fn put(&self, path: &'static str, switches: Switches) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(path, (Instant::now(), switches));
        }
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

impl App {
    pub fn sessions(&self) -> crate::store::sessions::Sessions<'_> {
        crate::store::sessions::Sessions {
            client: &self.dynamodb,
            table: &self.tables.sessions,
        }
    }

    pub fn application_tokens(&self) -> crate::store::application_tokens::ApplicationTokens<'_> {
        crate::store::application_tokens::ApplicationTokens {
            client: &self.dynamodb,
            table: &self.tables.application_tokens,
        }
    }

    pub fn roles(&self) -> crate::store::roles::Roles<'_> {
        crate::store::roles::Roles {
            client: &self.dynamodb,
            table: &self.tables.roles,
        }
    }

    pub fn users(&self) -> crate::store::users::Users<'_> {
        crate::store::users::Users {
            client: &self.dynamodb,
            table: &self.tables.users,
            roles_table: &self.tables.roles,
        }
    }

    pub fn employees(&self) -> crate::store::employees::Employees<'_> {
        crate::store::employees::Employees {
            client: &self.dynamodb,
            tables: &self.tables,
            known_references: &self.known_references,
        }
    }

    pub fn reference(&self) -> crate::store::reference::Reference<'_> {
        crate::store::reference::Reference {
            client: &self.dynamodb,
            table: &self.tables.reference,
            known: &self.known_references,
        }
    }

    pub fn notifications(&self) -> crate::store::notifications::Notifications<'_> {
        crate::store::notifications::Notifications {
            client: &self.dynamodb,
            table: &self.tables.notifications,
        }
    }

    pub fn clients(&self) -> crate::store::clients::Clients<'_> {
        crate::store::clients::Clients {
            client: &self.dynamodb,
            tables: &self.tables,
        }
    }

    pub fn emails(&self) -> crate::store::emails::Emails<'_> {
        crate::store::emails::Emails {
            client: &self.dynamodb,
            table: &self.tables.emails,
        }
    }

    pub fn registry(&self) -> crate::store::registry::Registry<'_> {
        crate::store::registry::Registry {
            client: &self.dynamodb,
            table: &self.tables.route_registry,
        }
    }

    pub fn idempotency(&self) -> crate::store::idempotency::Idempotency<'_> {
        crate::store::idempotency::Idempotency {
            client: &self.dynamodb,
            table: &self.tables.idempotency,
        }
    }

    pub fn counters(&self) -> crate::store::counters::Counters<'_> {
        crate::store::counters::Counters {
            client: &self.dynamodb,
            table: &self.tables.counters,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn switches_are_kept_for_the_cache_time_only() {
        use super::{Duration, SwitchCache, Switches};
        let on = Switches {
            route_on: true,
            service_on: true,
        };
        let kept = SwitchCache::new(Duration::from_secs(60));
        assert_eq!(kept.get("/a"), None);
        kept.put("/a", on);
        assert_eq!(kept.get("/a"), Some(on));
        assert_eq!(kept.get("/b"), None);
        let expired = SwitchCache::new(Duration::ZERO);
        expired.put("/a", on);
        assert_eq!(expired.get("/a"), None);
    }

    #[test]
    fn env_variable_names() {
        assert_eq!(super::env_variable("SessionsTable"), "SESSIONS_TABLE");
        assert_eq!(
            super::env_variable("ApplicationTokensTable"),
            "APPLICATION_TOKENS_TABLE"
        );
    }
}
