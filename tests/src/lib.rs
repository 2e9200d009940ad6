//! The test harness: a PlanoAuth wired to the local stack exactly as a function is in
//! Lambda, with a clock the test controls and a count of the DynamoDB calls made.
//!
//! Requests go in as API Gateway HTTP API events and come out as the functions' own
//! responses, through the `serve` entry point Lambda calls. Each test makes its own
//! records (unique ids and email addresses), so tests run in parallel on one stack.

pub mod authenticator;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::{Body, Request};
use local_api::Function;
use planoauth::App;
use planoauth::aws::aws_config;
use planoauth::clock::{Clock, FixedClock};
use planoauth::domain::Email;
use planoauth::domain::NewUser;
use planoauth::domain::{Application, Permission};
use planoauth::domain::{AuditAction, AuditEntry};
use planoauth::domain::{Employee, NewEmployee};
use planoauth::identify::SwitchCache;
use planoauth::mail::{Links, Mailer};
use planoauth::routes::Route;
use planoauth::store::tables::Tables;
use planoauth_admin::template::Template;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The prefix of the tables the tests share.
pub const TABLE_PREFIX: &str = "planoauth-test-";
/// The verified SES identity the tests send from.
pub const SENDER: &str = "no-reply@planoauth.test";
/// The sign-in page the welcome email links to.
pub const SIGN_IN_URL: &str = "https://app.planoauth.test/sign-in";
/// The page the password reset emails link to.
pub const PASSWORD_RESET_URL: &str = "https://app.planoauth.test/reset-password";
/// The relying party of the tests' passkey functions, and the page origin it accepts.
pub const PASSKEY_RP_ID: &str = "localhost";
pub const PASSKEY_ORIGIN: &str = "http://localhost:3000";

/// Where the tests' emails link to.
pub fn links() -> Links {
    Links {
        sign_in: SIGN_IN_URL.to_owned(),
        password_reset: PASSWORD_RESET_URL.to_owned(),
    }
}

/// Counts every DynamoDB request sent (each retry attempt included), and the writes
/// among them.
#[derive(Debug, Default)]
pub struct CallCounter {
    calls: AtomicUsize,
    writes: AtomicUsize,
}

/// The DynamoDB operations that consume write capacity.
const WRITES: [&str; 6] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
    "ExecuteStatement",
];

impl CallCounter {
    pub fn count(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct Counting(Arc<CallCounter>);

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "CountDynamoDbCalls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        let operation = cfg.load::<Metadata>().map(Metadata::name);
        if operation.is_some_and(|name| WRITES.contains(&name)) {
            self.0.writes.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// The repository's root, where `template.yaml` and `events/` are.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

pub fn template() -> Template {
    Template::load(&repository_root().join("template.yaml")).expect("template.yaml is readable")
}

/// A response, as a client sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub http: u16,
    pub body: Value,
    /// Whether it says it repeats an earlier answer (`idempotent-replayed: true`).
    pub replayed: bool,
    pub headers: lambda_http::http::HeaderMap,
}

impl Answer {
    pub fn status(&self) -> &str {
        self.body["status"].as_str().unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn session(&self) -> &Value {
        &self.body["session"]
    }
}

pub struct TestEnv {
    /// The prefix of this environment's table names.
    pub prefix: String,
    /// The address this environment's requests come from (its own, so that what is
    /// counted per source does not add up across tests).
    pub source_ip: String,
    pub config: planoauth::aws::SdkConfig,
    pub app: App,
    pub functions: local_api::Functions,
    pub ses: aws_sdk_ses::Client,
    pub clock: Arc<FixedClock>,
    pub calls: Arc<CallCounter>,
}

impl TestEnv {
    /// A PlanoAuth on the local stack, with the tables (created from `template.yaml` if
    /// needed), the roles and the reference data of a bootstrapped install.
    pub async fn new() -> TestEnv {
        TestEnv::with_prefix(TABLE_PREFIX).await
    }

    /// A PlanoAuth on tables of its own, fresh on every run (`planoauth-{name}-{random}-…`,
    /// in `prefix`), so that a test can check everything in them, set the local
    /// DynamoDB's faults for them alone and read what it injected there.
    pub async fn isolated(name: &str) -> TestEnv {
        let suffix = planoauth::tokens::random_id()
            .to_ascii_lowercase()
            .replace(['-', '_'], "x");
        TestEnv::with_prefix(&format!("planoauth-{name}-{}-", &suffix[..8])).await
    }

    pub async fn with_prefix(prefix: &str) -> TestEnv {
        assert!(
            std::env::var("AWS_ENDPOINT_URL").is_ok(),
            "the integration tests need the local stack: run them with `make test`"
        );
        // The local stack is far slower than DynamoDB, and slower still on a busy
        // machine: give its calls room, where production gives up within seconds.
        let config = aws_config()
            .await
            .expect("the AWS configuration builds")
            .into_builder()
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .operation_timeout(Duration::from_secs(120))
                    .build(),
            )
            .build();
        let calls = Arc::new(CallCounter::default());
        let dynamodb_config = aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(Counting(Arc::clone(&calls)))
            .interceptor(planoauth::aws::AttemptMetrics)
            .build();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(dynamodb_config);
        let tables = planoauth_admin::tables::create_tables(&dynamodb, &template(), prefix)
            .await
            .expect("tables are created from template.yaml");
        let clock = Arc::new(FixedClock::at(planoauth::clock::SystemClock.now()));
        let app = App::new(dynamodb, tables, Arc::clone(&clock) as Arc<dyn Clock>);
        for application in Application::ALL {
            for (role, permissions) in planoauth_admin::bootstrap::default_roles() {
                app.db
                    .roles()
                    .put(application, role, &permissions, false)
                    .await
                    .expect("roles are written");
            }
        }
        planoauth_admin::bootstrap::seed_reference_data(&app)
            .await
            .expect("reference data is written");
        let ses = aws_sdk_ses::Client::new(&config);
        ses.verify_email_identity()
            .email_address(SENDER)
            .send()
            .await
            .expect("sender is verified");
        let party = planoauth::passkeys::RelyingParty::new(PASSKEY_RP_ID, &[PASSKEY_ORIGIN])
            .expect("the tests' relying party");
        let kms = aws_sdk_kms::Client::new(&config);
        let key = planoauth_admin::keys::ensure_totp_key(&kms, prefix)
            .await
            .expect("the install's TOTP key");
        let secrets = planoauth::secrets::SecretBox::new(kms, key);
        let functions =
            local_api::Functions::new(Mailer::new(ses.clone(), SENDER, links()), party, secrets);
        let [a, b, c] = rand::random::<[u8; 3]>();
        TestEnv {
            prefix: prefix.to_owned(),
            source_ip: format!("10.{a}.{b}.{c}"),
            config,
            app,
            functions,
            ses,
            clock,
            calls,
        }
    }

    /// The same app with other table names (to make a store call fail), reading the
    /// route registry at every request.
    pub fn with_tables(&self, tables: Tables) -> App {
        App {
            switches: SwitchCache::new(Duration::ZERO),
            ..App::new(
                self.app.db.client.clone(),
                tables,
                Arc::clone(&self.clock) as Arc<dyn Clock>,
            )
        }
    }

    /// The same app with the production client's retries and an attempt timeout of
    /// `attempt`: an answer the local stack holds for longer is given up on and the
    /// request sent again, as the functions do in Lambda.
    pub fn with_attempt_timeout(&self, attempt: Duration) -> App {
        let config = self
            .config
            .to_builder()
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(attempt)
                    .operation_timeout(Duration::from_secs(120))
                    .build(),
            )
            .build();
        App::new(
            aws_sdk_dynamodb::Client::new(&config),
            self.app.db.tables.clone(),
            Arc::clone(&self.clock) as Arc<dyn Clock>,
        )
    }

    /// Runs an operator command line (without the program name) on this environment's
    /// tables, as `planoauth-admin` would; its JSON, or its error's text.
    pub async fn admin(&self, line: &str) -> Result<Value, String> {
        self.admin_mailing(None, line).await
    }

    /// [`TestEnv::admin`], with the mailer `notifications retry` sends with.
    pub async fn admin_mailing(&self, mailer: Option<Mailer>, line: &str) -> Result<Value, String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let environment = planoauth_admin::commands::Environment {
            config: self.config.clone(),
            tables: Some(self.app.db.tables.clone()),
            mailer,
        };
        planoauth_admin::commands::run(&args, &environment)
            .await
            .map_err(|e| e.to_string())
    }

    /// Every item of a table (a Scan: for checking what a test left behind).
    pub async fn scan(&self, table: &str) -> Vec<planoauth::store::Item> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .app
                .db
                .client
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("the table can be scanned");
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return items,
            }
        }
    }

    /// Checks that what racing requests left in this environment's tables is whole:
    /// every account has its record (employee or client) and every record its account,
    /// every address claim belongs to the user whose record holds that address, and every
    /// record's address is claimed for it.
    pub async fn assert_nothing_half_written(&self) {
        let tables = &self.app.db.tables;
        let number = |item: &planoauth::store::Item, name: &str| -> i64 {
            item[name]
                .as_n()
                .unwrap_or(&String::new())
                .parse()
                .unwrap_or(-1)
        };
        let text = |item: &planoauth::store::Item, name: &str| -> String {
            item[name].as_s().cloned().unwrap_or_default()
        };
        let accounts: HashSet<i64> = self
            .scan(&tables.users)
            .await
            .iter()
            .map(|user| number(user, "id"))
            .collect();
        let mut records = Vec::new();
        for table in [&tables.employees, &tables.clients] {
            for record in self.scan(table).await {
                records.push((number(&record, "id"), text(&record, "email_normalized")));
            }
        }
        let claims: HashMap<String, i64> = self
            .scan(&tables.emails)
            .await
            .iter()
            .map(|claim| (text(claim, "email"), number(claim, "user_id")))
            .collect();
        for (id, email) in &records {
            assert!(accounts.contains(id), "record {id} has no account");
            assert_eq!(
                claims.get(email),
                Some(id),
                "{email} is not claimed for {id}"
            );
        }
        for account in &accounts {
            assert!(
                records.iter().any(|(id, _)| id == account),
                "account {account} has no record"
            );
        }
        for (email, owner) in &claims {
            assert!(
                records.contains(&(*owner, email.clone())),
                "{email} is claimed for {owner}, whose record does not hold it"
            );
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The audit entry of a change the harness makes itself, as the operator tool would.
    pub fn audit(&self, action: AuditAction, user_id: i64) -> AuditEntry {
        planoauth_admin::operator::operator_audit(self.now(), action, user_id)
    }

    /// Moves the clock `seconds` forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.set(self.clock.now() + seconds);
    }

    /// An application token for `application` holding `permissions`.
    pub async fn application_token(
        &self,
        application: Application,
        permissions: &[&str],
    ) -> String {
        let permissions: Vec<Permission> = permissions
            .iter()
            .map(|name| Permission::from_name(name).expect("a permission PlanoAuth knows"))
            .collect();
        let (token, _) = self
            .app
            .db
            .application_tokens()
            .issue(application, "test", &permissions, self.now())
            .await
            .expect("application token is issued");
        token
    }

    /// A fresh, unique email address.
    pub fn unique_email(&self, name: &str) -> String {
        format!(
            "{name}.{}@example.com",
            planoauth::tokens::random_id()
                .to_ascii_lowercase()
                .replace(['-', '_'], "x")
        )
    }

    /// A new employee holding `roles`.
    pub async fn employee(&self, roles: &[(Application, &str)]) -> Employee {
        self.employee_with_password(roles, None).await
    }

    /// A new employee holding `roles` who signs in with `password`.
    pub async fn employee_with_password(
        &self,
        roles: &[(Application, &str)],
        password: Option<&str>,
    ) -> Employee {
        let password_hash =
            password.map(|p| planoauth::passwords::hash(p).expect("password hashed"));
        let email = Email::parse(&self.unique_email("employee")).expect("valid email");
        let id = self
            .app
            .db
            .counters()
            .next("users")
            .await
            .expect("id allocated");
        let new = NewEmployee {
            email: &email,
            first_name: Some("Ada"),
            last_name: Some("Lovelace"),
            phone: Some("+1 555 010 0000"),
            service_area_id: Some(1),
            extension: None,
            department: Some("photography"),
            designation_id: Some(1),
            language: Some("en"),
            photographer: true,
            roles,
            password_hash: password_hash.as_deref(),
            password_change_required: false,
        };
        let employee = Employee::new(id, &new, self.now());
        let audit = self.audit(AuditAction::EmployeeCreated, id);
        planoauth::use_cases::create_employee(&self.app, &employee, &new, None, &audit)
            .await
            .expect("employee is created");
        employee
    }

    /// A user with an account but no client, employee or liaison record.
    pub async fn user_without_records(&self) -> i64 {
        self.user_without_records_signing_in_with(None).await
    }

    /// A user with an account but no record, whose account has `password`.
    pub async fn user_without_records_signing_in_with(&self, password: Option<&str>) -> i64 {
        let password_hash =
            password.map(|p| planoauth::passwords::hash(p).expect("password hashed"));
        let id = self
            .app
            .db
            .counters()
            .next("users")
            .await
            .expect("id allocated");
        let put = self
            .app
            .db
            .users()
            .put(
                &NewUser {
                    id,
                    roles: &[],
                    profiles: &[],
                    password_hash: password_hash.as_deref(),
                    password_change_required: false,
                },
                self.now(),
            )
            .expect("request builds");
        self.app
            .db
            .client
            .transact_write_items()
            .transact_items(put)
            .send()
            .await
            .expect("user is written");
        id
    }

    /// A session of a user, opened now through `application`.
    pub async fn session(
        &self,
        user_id: i64,
        application: Application,
        remember_me: bool,
    ) -> String {
        let account = self
            .app
            .db
            .users()
            .account(user_id)
            .await
            .expect("account read")
            .expect("user exists");
        let grants = planoauth::use_cases::grants_of(&self.app.db, &account)
            .await
            .expect("roles read");
        let (token, _) = planoauth::use_cases::open_session_without_sign_in(
            &self.app,
            Some(&grants),
            application,
            remember_me,
        )
        .await
        .expect("session opened");
        token
    }

    /// A guest session: no user yet.
    pub async fn guest_session(&self) -> String {
        let (token, _) = planoauth::use_cases::open_session_without_sign_in(
            &self.app,
            None,
            Application::PlanoAuth,
            false,
        )
        .await
        .expect("session opened");
        token
    }

    /// The function that serves `route`, as the local API dispatches to it.
    pub fn route(&self, route: Route) -> &dyn Function {
        self.functions
            .get(&route)
            .expect("the local API serves every route")
    }

    /// POSTs a JSON body to the endpoint's route, as API Gateway would deliver it.
    pub async fn call(&self, endpoint: &dyn Function, body: &Value) -> Answer {
        self.call_with(
            &self.app,
            endpoint,
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
    }

    /// POSTs parameters to a sensitive-params route: JSON, base64-encoded.
    pub async fn call_encoded(&self, endpoint: &dyn Function, params: &Value) -> Answer {
        self.call_encoded_on(&self.app, endpoint, params).await
    }

    /// POSTs parameters to a sensitive-params route, on `app`.
    pub async fn call_encoded_on(
        &self,
        app: &App,
        endpoint: &dyn Function,
        params: &Value,
    ) -> Answer {
        let body = encoded(params);
        self.call_with(
            app,
            endpoint,
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await
    }

    /// POSTs parameters to a sensitive-params route with an `Idempotency-Key` header.
    pub async fn call_encoded_with_key(
        &self,
        endpoint: &dyn Function,
        params: &Value,
        key: &str,
    ) -> Answer {
        let body = encoded(params);
        self.call_with(
            &self.app,
            endpoint,
            &[
                ("content-type", "application/json"),
                ("idempotency-key", key),
            ],
            body.as_bytes(),
        )
        .await
    }

    /// Answers a request the way the local API Gateway does: by its route's function.
    pub async fn dispatch(&self, request: Request) -> Answer {
        answer(local_api::dispatch(&self.app, &self.functions, request).await)
    }

    /// The emails SES accepted for `recipient`, as the local stack keeps them:
    /// `source`, `subject`, `body` (the HTML part), `destinations`.
    pub async fn sent_emails(&self, recipient: &str) -> Vec<Value> {
        let data = moto_get("/_local/ses/messages").await;
        data["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|message| {
                message["destinations"]["ToAddresses"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|address| address == recipient))
            })
            .cloned()
            .collect()
    }

    /// The reset token in the newest password reset email sent to `recipient`.
    pub async fn emailed_reset_token(&self, recipient: &str) -> String {
        let sent = self.sent_emails(recipient).await;
        let body = sent
            .iter()
            .rev()
            .find_map(|message| {
                let body = message["body"].as_str()?;
                body.contains(PASSWORD_RESET_URL).then_some(body)
            })
            .expect("a reset email");
        reset_token_in(body).expect("a token in the link")
    }

    /// POSTs raw bytes with the given headers to the endpoint's route, on `app`.
    pub async fn call_with(
        &self,
        app: &App,
        endpoint: &dyn Function,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let mut event = local_api::http_api_event("POST", endpoint.route().path, &headers, body);
        event["requestContext"]["http"]["sourceIp"] = Value::from(self.source_ip.as_str());
        let request = lambda_http::request::from_str(&event.to_string())
            .expect("the event decodes as Lambda decodes it");
        answer(endpoint.serve(app, request).await)
    }
}

/// Asserts an answer's status and HTTP code, showing the whole answer if they differ.
pub fn assert_status(answer: &Answer, status: &str, http: u16) {
    assert_eq!(
        (answer.status(), answer.http),
        (status, http),
        "{}",
        answer.body
    );
}

/// An environment with an application token that may update employees, and an
/// employee (a staff member in planoauth) to update.
pub async fn employee_to_update() -> (TestEnv, String, Employee) {
    let env = TestEnv::new().await;
    let token = env
        .application_token(Application::PlanoAuth, &["employees.update"])
        .await;
    let employee = env.employee(&[(Application::PlanoAuth, "staff")]).await;
    (env, token, employee)
}

/// `employees/update` of `employee`, keeping its email address, with `extra` parameters.
pub async fn update_employee(
    env: &TestEnv,
    token: &str,
    employee: &Employee,
    extra: Value,
) -> Answer {
    // `extra` may hold nulls: they are sent, to clear a field.
    let mut body = serde_json::json!({"token": token, "id": employee.id, "email": employee.email});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    env.call(env.route(planoauth::routes::EMPLOYEES_UPDATE), &body)
        .await
}

/// A sensitive-params body: the parameters' JSON, base64-encoded.
pub fn encoded(params: &Value) -> String {
    STANDARD.encode(params.to_string())
}

/// Asserts that no answer is a server error: a race's loser hears a documented 4xx.
pub fn assert_no_server_errors(answers: &[Answer]) {
    let failed: Vec<&Value> = answers
        .iter()
        .filter(|answer| answer.http >= 500)
        .map(|answer| &answer.body)
        .collect();
    assert!(failed.is_empty(), "server errors: {failed:?}");
}

/// Asserts that of racing requests for one email address exactly one succeeded and every
/// other was told the address is taken.
pub fn assert_one_won_the_address(answers: &[Answer]) {
    assert_no_server_errors(answers);
    let won = answers
        .iter()
        .filter(|a| a.status() == "action-successful")
        .count();
    let lost = answers
        .iter()
        .filter(|a| a.status() == "invalid-param" && a.message().contains("`email`"))
        .count();
    assert_eq!((won, lost), (1, answers.len() - 1), "{:?}", tally(answers));
}

/// Asserts that DynamoDB (as the local stack emulates it) cancelled at least one
/// transaction on a prefix's tables since `before`: a race that never met a conflict
/// proves nothing about conflicts.
pub async fn assert_the_race_met_conflicts(prefix: &str, before: &Value) {
    assert!(
        injected_since(prefix, before, "transaction_conflicts").await > 0,
        "the race never made DynamoDB cancel a transaction: it proves nothing"
    );
}

/// How many answers had each status.
pub fn tally(answers: &[Answer]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for answer in answers {
        *counts.entry(answer.status().to_owned()).or_default() += 1;
    }
    counts
}

/// How many more of `stat` the local stack injected on a prefix's tables than `before`
/// (an earlier [`injected`]) says.
pub async fn injected_since(prefix: &str, before: &Value, stat: &str) -> i64 {
    injected(prefix).await[stat].as_i64().unwrap_or(0) - before[stat].as_i64().unwrap_or(0)
}

/// `params` with the fields of `changes` set, or removed where `changes` says `null`.
pub fn with(mut params: Value, changes: Value) -> Value {
    if let (Some(params), Value::Object(changes)) = (params.as_object_mut(), changes) {
        for (key, value) in changes {
            if value.is_null() {
                params.remove(&key);
            } else {
                params.insert(key, value);
            }
        }
    }
    params
}

/// Reads a function's response as the client would.
pub fn answer(response: lambda_http::Response<Body>) -> Answer {
    let http = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|value| value == "true");
    let body =
        serde_json::from_slice(response.body().as_ref()).expect("every response body is JSON");
    Answer {
        http,
        body,
        replayed,
        headers: response.headers().clone(),
    }
}

/// What the local stack's DynamoDB injected on the tables of a name prefix
/// (`transaction_conflicts`, `write_conflicts`, `throttles`, `server_errors`, `stalls`,
/// `token_replays`), as `GET /_local/faults` reports it.
pub async fn injected(prefix: &str) -> Value {
    stack_request("GET", &format!("/_local/faults?tables={prefix}"), None).await["injected"].clone()
}

/// What production's DynamoDB does to a race: transactions that commit hold their items
/// for `hold_ms` (other transactions on them are cancelled meanwhile), 5 % of calls are
/// throttled and 3 % fail with a server error.
pub fn race_faults(hold_ms: u64) -> Value {
    serde_json::json!({ "transaction_ms": hold_ms, "throttle_rate": 0.05, "error_rate": 0.03 })
}

/// Makes the local stack's DynamoDB behave as `settings` say on the tables of a name
/// prefix (see `scripts/local_dynamodb.py`): `{"transaction_ms": 40, "throttle_rate":
/// 0.05, "stall_next": {"operation": "PutItem", "count": 1}, ...}`.
pub async fn set_faults(prefix: &str, mut settings: Value) {
    settings["tables"] = Value::from(prefix);
    stack_request("POST", "/_local/faults", Some(&settings)).await;
}

/// GETs a JSON document from the local stack's own API.
async fn moto_get(path: &str) -> Value {
    stack_request("GET", path, None).await
}

/// A request to the local stack's own API, over plain HTTP/1.1; its JSON answer.
async fn stack_request(method: &str, path: &str, body: Option<&Value>) -> Value {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("the local stack is running");
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = body.map(Value::to_string).unwrap_or_default();
    let answer = planoauth_invoke::http_request(host, method, path, &body)
        .await
        .expect("the local stack answers");
    serde_json::from_str(&answer).expect("the local stack answers JSON")
}

/// The reset token in an email's link (`...?reset_token=...`), if it has one.
pub fn reset_token_in(body: &str) -> Option<String> {
    let start = body.find("reset_token=")? + "reset_token=".len();
    let token = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    Some(token)
}

/// What the test binary has logged, in the production format.
#[derive(Clone)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().map(|b| b.clone()).unwrap_or_default()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends this test binary's logs (PlanoAuth's JSON lines) to a buffer from now on.
pub fn capture_logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs(Arc::default());
        let writer = logs.clone();
        planoauth::runtime::init_logging_to(move || writer.clone());
        logs
    })
    .clone()
}
