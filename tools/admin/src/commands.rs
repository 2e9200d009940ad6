//! The operator's commands: what has no public route. Each prints its result as JSON.

use crate::bootstrap;
use crate::tables;
use crate::template::Template;
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use planoauth::App;
use planoauth::aws::SdkConfig;
use planoauth::clock::SystemClock;
use planoauth::domain::ReferenceKind as Kind;
use planoauth::domain::{Actor, AuditAction, AuditEntry, Email, EmployeeChanges, RecordKind};
use planoauth::domain::{Application, Permission};
use planoauth::error::BoxError;
use planoauth::mail::Mailer;
use planoauth::store::employees::EmployeeUpdate;
use planoauth::store::registry;
use planoauth::store::tables::Tables;
use planoauth::use_cases;
use planoauth::view::{Show, View};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub const USAGE: &str = "usage: planoauth-admin COMMAND [--option value ...]

  create-tables [--template template.yaml] [--prefix planoauth-local-]
  bootstrap --api-url URL [--admin-email EMAIL] [--sample-photographer EMAIL]
            [--out .local/bootstrap.json]
  create-admin --email EMAIL
  seed-reference
  reference put --kind service_area|department|designation --key KEY --name NAME
  verify-sender --address ADDRESS
  token create --application APP --name NAME [--permissions P1,P2]
  token list --application APP
  token rotate --application APP --id TOKEN_ID
  token revoke --application APP --id TOKEN_ID
  role put --application APP --role ROLE [--permissions P1,P2]
  role grant --user USER_ID --application APP --role ROLE
  sessions end --user USER_ID
  employee update --user USER_ID [--email ADDRESS] [--active true|false]
  audit --user USER_ID | --since RFC3339_OR_UNIX_SECONDS   (oldest first)
  notifications list [--open]
  notifications show --id ID
  notifications retry --id ID
  notifications resolve --id ID --note TEXT
  route disable|enable --path /api/v1/RESOURCE/ACTION [--reason TEXT]
  service disable|enable --name RESOURCE [--reason TEXT]

APP is planoauth, planoorder or planox2. Permissions: employees.update,
photographers.create, sessions.create, clients.register. Role and grant changes reach
open sessions at once; route and service switches within half a minute.
`employee update` changes anyone's address or `active` flag, an admin's too (the API lets
a caller change only people it holds every permission of); a moved address notifies both
addresses (ONBOARDING_SENDER, SIGN_IN_URL and PASSWORD_RESET_URL, as for `notifications
retry`).
`notifications retry` sends a failed welcome email again now (ONBOARDING_SENDER,
SIGN_IN_URL and PASSWORD_RESET_URL name the sender and the links, as in the template).";

/// Where the commands act: the AWS configuration and, unless the `*_TABLE` variables
/// should name them, the tables.
pub struct Environment {
    pub config: SdkConfig,
    pub tables: Option<Tables>,
    /// What `notifications retry` sends with; unless given, built from the environment
    /// (`ONBOARDING_SENDER`, `SIGN_IN_URL`, `PASSWORD_RESET_URL`).
    pub mailer: Option<Mailer>,
}

impl Environment {
    fn mailer(&self) -> Result<Mailer, BoxError> {
        match &self.mailer {
            Some(mailer) => Ok(mailer.clone()),
            None => Mailer::from_env(&self.config),
        }
    }

    fn app(&self) -> Result<App, BoxError> {
        let tables = match &self.tables {
            Some(tables) => tables.clone(),
            None => Tables::from_env()?,
        };
        Ok(App::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            tables,
            Arc::new(SystemClock),
        ))
    }
}

/// Runs one command line (without the program name).
pub async fn run(args: &[String], environment: &Environment) -> Result<Value, BoxError> {
    let split = args
        .iter()
        .position(|arg| arg.starts_with("--"))
        .unwrap_or(args.len());
    let (words, options) = args.split_at(split);
    let options = Options::parse(options)?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["create-tables"] => {
            let template = Template::load(Path::new(options.or("template", "template.yaml")))?;
            let prefix = options.or("prefix", "planoauth-local-");
            let client = aws_sdk_dynamodb::Client::new(&environment.config);
            tables::create_tables(&client, &template, prefix).await?;
            let variables: serde_json::Map<String, Value> = tables::environment(prefix)
                .into_iter()
                .map(|(variable, name)| (variable, Value::from(name)))
                .collect();
            Ok(Value::Object(variables))
        }
        ["bootstrap"] => {
            let app = environment.app()?;
            let data = bootstrap::bootstrap(
                &app,
                options.get("api-url")?,
                options.or("admin-email", "admin@planoauth.local"),
                options.optional("sample-photographer"),
            )
            .await?;
            let data = serde_json::to_value(data)?;
            if let Some(path) = options.optional("out") {
                if let Some(parent) = Path::new(path).parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(path, serde_json::to_string_pretty(&data)? + "\n")?;
            }
            Ok(data)
        }
        ["create-admin"] => {
            let app = environment.app()?;
            let admin = bootstrap::create_admin(&app, options.get("email")?).await?;
            Ok(serde_json::to_value(admin)?)
        }
        ["seed-reference"] => {
            bootstrap::seed_reference_data(&environment.app()?).await?;
            Ok(json!({ "seeded": true }))
        }
        ["reference", "put"] => {
            let kind = match options.get("kind")? {
                "service_area" => Kind::ServiceArea,
                "department" => Kind::Department,
                "designation" => Kind::Designation,
                other => return Err(format!("unknown reference kind {other}").into()),
            };
            let (key, name) = (options.get("key")?, options.get("name")?);
            environment
                .app()?
                .db
                .reference()
                .put(kind, key, name)
                .await?;
            Ok(json!({ "kind": kind.name(), "key": key, "name": name }))
        }
        ["verify-sender"] => {
            let address = options.get("address")?;
            let ses = aws_sdk_ses::Client::new(&environment.config);
            ses.verify_email_identity()
                .email_address(address)
                .send()
                .await?;
            Ok(json!({ "verifying": address }))
        }
        ["token", "create"] => {
            let app = environment.app()?;
            let application = options.application()?;
            let permissions = options.permissions()?;
            let (token, record) = app
                .db
                .application_tokens()
                .issue(
                    application,
                    options.get("name")?,
                    &permissions,
                    app.clock.now(),
                )
                .await?;
            Ok(
                json!({ "id": record.id, "application": application.slug(), "name": record.name, "permissions": names(&record.permissions), "token": token }),
            )
        }
        ["token", "list"] => {
            let app = environment.app()?;
            let tokens = app
                .db
                .application_tokens()
                .list(options.application()?)
                .await?;
            Ok(Value::Array(
                tokens
                    .into_iter()
                    .map(|t| json!({ "id": t.id, "name": t.name, "permissions": names(&t.permissions), "created_at": planoauth::clock::rfc3339(t.created_at) }))
                    .collect(),
            ))
        }
        ["token", "rotate"] => {
            let app = environment.app()?;
            let (application, id) = (options.application()?, options.get("id")?);
            match app
                .db
                .application_tokens()
                .rotate(application, id, app.clock.now())
                .await?
            {
                Some((token, record)) => Ok(
                    json!({ "id": record.id, "replaces": id, "application": application.slug(), "token": token }),
                ),
                None => Err(format!("{} has no token {id}", application.slug()).into()),
            }
        }
        ["token", "revoke"] => {
            let app = environment.app()?;
            let (application, id) = (options.application()?, options.get("id")?);
            if app.db.application_tokens().revoke(application, id).await? {
                Ok(json!({ "revoked": id }))
            } else {
                Err(format!("{} has no token {id}", application.slug()).into())
            }
        }
        ["role", "put"] => {
            let app = environment.app()?;
            let (application, role) = (options.application()?, options.get("role")?);
            let permissions = options.permissions()?;
            app.db.roles().put(application, role, &permissions).await?;
            // Operator-only, off every request path: finding the role's holders may scan.
            let holders = app.db.users().holders_of(application, role).await?;
            let mut refreshed = 0;
            for user_id in &holders {
                refreshed += refresh_sessions(&app, *user_id).await?;
            }
            Ok(
                json!({ "application": application.slug(), "role": role, "permissions": names(&permissions), "holders": holders.len(), "sessions_refreshed": refreshed }),
            )
        }
        ["role", "grant"] => {
            let app = environment.app()?;
            let user_id = options.user()?;
            let (application, role) = (options.application()?, options.get("role")?);
            let audit = operator_audit(app.clock.now(), AuditAction::RoleGranted, user_id);
            if !app
                .db
                .users()
                .grant(user_id, application, role, &audit)
                .await?
            {
                return Err(format!("there is no user {user_id}").into());
            }
            let refreshed = refresh_sessions(&app, user_id).await?;
            Ok(
                json!({ "user": user_id, "application": application.slug(), "role": role, "sessions_refreshed": refreshed }),
            )
        }
        ["sessions", "end"] => {
            let app = environment.app()?;
            let user_id = options.user()?;
            let audit = operator_audit(app.clock.now(), AuditAction::SessionsEnded, user_id);
            let ended = app
                .db
                .sessions()
                .end_all_for_user_recorded(user_id, &audit)
                .await?;
            Ok(json!({ "user": user_id, "sessions_ended": ended }))
        }
        ["employee", "update"] => {
            let app = environment.app()?;
            let user_id = options.user()?;
            let Some(current) = app.db.employees().find(user_id).await? else {
                return Err(format!("there is no employee {user_id}").into());
            };
            let email = options.optional("email").unwrap_or(&current.email);
            let email = Email::parse(email).map_err(|invalid| format!("--email {invalid}"))?;
            let active = match options.optional("active") {
                None => None,
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(other) => {
                    return Err(format!("--active takes true or false, not {other}").into());
                }
            };
            let changes = EmployeeChanges {
                active,
                ..EmployeeChanges::default()
            };
            let now = app.clock.now();
            let audit = operator_audit(now, AuditAction::EmployeeUpdated, user_id);
            let update = EmployeeUpdate {
                id: user_id,
                email: &email,
                changes: &changes,
                now,
                audit: &audit,
                read: None,
                acted_on: None,
            };
            let mailer = environment.mailer()?;
            let employee = use_cases::write_employee_update(&app, &mailer, &update)
                .await
                .map_err(|error| error.message())?;
            Ok(employee.show(View::InternalApps))
        }
        ["audit"] => {
            let app = environment.app()?;
            let entries = match (options.optional("user"), options.optional("since")) {
                (Some(_), None) => app.db.audit().for_user(options.user()?).await?,
                (None, Some(since)) => {
                    let since = parse_time(since)?;
                    app.db.audit().since(since, app.clock.now()).await?
                }
                _ => return Err("audit takes either --user USER_ID or --since TIME".into()),
            };
            Ok(Value::Array(entries.iter().map(shown).collect()))
        }
        ["notifications", "list"] => {
            let app = environment.app()?;
            let notifications = app.db.notifications();
            let records = if options.flag("open") {
                notifications.open().await?
            } else {
                notifications.all().await?
            };
            Ok(serde_json::to_value(records)?)
        }
        ["notifications", "show"] => {
            let app = environment.app()?;
            let id = options.get("id")?;
            match app.db.notifications().get(id).await? {
                Some(record) => Ok(serde_json::to_value(record)?),
                None => Err(format!("there is no notification {id}").into()),
            }
        }
        ["notifications", "retry"] => {
            let app = environment.app()?;
            let id = options.get("id")?;
            let Some(record) = app.db.notifications().get(id).await? else {
                return Err(format!("there is no notification {id}").into());
            };
            if !record.open {
                return Err(format!("notification {id} is resolved").into());
            }
            let mailer = environment.mailer()?;
            let retried = use_cases::retry(&app, &mailer, &record, app.clock.now()).await?;
            Ok(json!({ "id": id, "retried": retried }))
        }
        ["notifications", "resolve"] => {
            let app = environment.app()?;
            let (id, note) = (options.get("id")?, options.get("note")?);
            if app
                .db
                .notifications()
                .close(id, app.clock.now(), note)
                .await?
            {
                Ok(json!({ "id": id, "resolved": true, "note": note }))
            } else {
                Err(format!("there is no open notification {id}").into())
            }
        }
        ["route", action @ ("disable" | "enable")] => {
            let path = options.get("path")?;
            if planoauth::routes::by_path(path).is_none() {
                return Err(format!("there is no route {path}").into());
            }
            switch(
                environment,
                &registry::route_key(path),
                *action == "enable",
                &options,
            )
            .await
        }
        ["service", action @ ("disable" | "enable")] => {
            let name = options.get("name")?;
            if !planoauth::routes::ALL
                .iter()
                .any(|route| route.service() == name)
            {
                return Err(format!("there is no service {name}").into());
            }
            switch(
                environment,
                &registry::service_key(name),
                *action == "enable",
                &options,
            )
            .await
        }
        _ => Err(USAGE.into()),
    }
}

/// Switches a route or service on or off in the route registry.
async fn switch(
    environment: &Environment,
    key: &str,
    enabled: bool,
    options: &Options,
) -> Result<Value, BoxError> {
    let app = environment.app()?;
    app.db
        .registry()
        .set(key, enabled, options.optional("reason"), app.clock.now())
        .await?;
    Ok(json!({ "switch": key, "enabled": enabled }))
}

/// The audit entry of a change the operator makes to `user_id`: by the OS user running
/// the tool, under a request id of its own.
pub fn operator_audit(now: i64, action: AuditAction, user_id: i64) -> AuditEntry {
    let actor = Actor::Operator {
        os_user: std::env::var("USER").ok().filter(|user| !user.is_empty()),
    };
    let request_id = format!("admin-{}", planoauth::tokens::random_id());
    let record = match action {
        AuditAction::EmployeeCreated | AuditAction::EmployeeUpdated => RecordKind::Employee,
        _ => RecordKind::User,
    };
    AuditEntry::new(now, actor, action, user_id, record, request_id)
}

/// `--since`: RFC 3339 (`2026-11-25T09:00:00Z`) or Unix seconds.
fn parse_time(text: &str) -> Result<i64, BoxError> {
    if let Ok(seconds) = text.parse() {
        return Ok(seconds);
    }
    DateTime::from_str(text, DateTimeFormat::DateTime)
        .map(|time| time.secs())
        .map_err(|_| format!("--since takes RFC 3339 or Unix seconds, not {text}").into())
}

/// An audit entry as the operator reads it.
fn shown(entry: &AuditEntry) -> Value {
    let actor = match &entry.actor {
        Actor::Application {
            token_id,
            application,
        } => {
            json!({ "kind": "application", "token_id": token_id, "application": application.slug() })
        }
        Actor::User {
            user_id,
            application,
        } => json!({ "kind": "user", "user_id": user_id, "application": application.slug() }),
        Actor::Operator { os_user } => json!({ "kind": "operator", "os_user": os_user }),
    };
    let changes: serde_json::Map<String, Value> = entry
        .changes
        .iter()
        .map(|(field, change)| {
            let mut values = serde_json::Map::new();
            if let Some(old) = &change.old {
                values.insert("old".into(), old.clone());
            }
            if let Some(new) = &change.new {
                values.insert("new".into(), new.clone());
            }
            (field.clone(), Value::Object(values))
        })
        .collect();
    let mut shown = json!({
        "at": entry.at,
        "time": planoauth::clock::rfc3339(entry.at),
        "action": entry.action.slug(),
        "actor": actor,
        "user_id": entry.user_id,
        "record": { "kind": entry.record.name(), "id": entry.user_id },
        "changes": changes,
        "request_id": entry.request_id,
    });
    if let Some(count) = entry.count {
        shown["count"] = Value::from(count);
    }
    shown
}

/// Gives a user's open sessions their current grants.
async fn refresh_sessions(app: &App, user_id: i64) -> Result<usize, BoxError> {
    match app.db.users().grants(user_id).await? {
        Some(grants) => Ok(app.db.sessions().refresh_grants(&grants).await?),
        None => Ok(0),
    }
}

/// The options that take no value.
const FLAGS: [&str; 1] = ["open"];

struct Options(HashMap<String, String>);

impl Options {
    fn parse(args: &[String]) -> Result<Options, BoxError> {
        let mut options = HashMap::new();
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {flag}\n\n{USAGE}"))?;
            if FLAGS.contains(&name) {
                options.insert(name.to_owned(), String::new());
                continue;
            }
            let value = args
                .next()
                .ok_or_else(|| format!("--{name} needs a value"))?;
            options.insert(name.to_owned(), value.clone());
        }
        Ok(Options(options))
    }

    /// Whether a switch that takes no value ([`FLAGS`]) was given.
    fn flag(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    fn get(&self, name: &str) -> Result<&str, BoxError> {
        self.optional(name)
            .ok_or_else(|| format!("--{name} is required").into())
    }

    fn optional(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.optional(name).unwrap_or(default)
    }

    fn application(&self) -> Result<Application, BoxError> {
        let slug = self.get("application")?;
        Application::from_slug(slug).ok_or_else(|| format!("unknown application {slug}").into())
    }

    fn user(&self) -> Result<i64, BoxError> {
        let user = self.get("user")?;
        user.parse()
            .map_err(|_| format!("--user takes a user id, not {user}").into())
    }

    fn permissions(&self) -> Result<Vec<Permission>, BoxError> {
        self.optional("permissions")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                Permission::from_name(name)
                    .ok_or_else(|| format!("unknown permission {name}").into())
            })
            .collect()
    }
}

/// Permissions as the operator writes them.
fn names(permissions: &[Permission]) -> Vec<&'static str> {
    permissions.iter().map(|p| p.name()).collect()
}
