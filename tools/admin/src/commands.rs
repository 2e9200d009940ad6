//! The operator's commands (declared in [`crate::cli`]): what has no public route. Each
//! returns its result as JSON.

use crate::cli::{
    AuditArgs, Cli, Command, EmployeeCommand, MigrateCommand, NotificationsCommand,
    ReferenceCommand, RoleCommand, SecondFactor, SessionsCommand, Switch, TokenCommand,
    TotpCommand,
};
use crate::operator::operator_audit;
use crate::template::Template;
use crate::{bootstrap, tables};
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use clap::Parser;
use planoauth::App;
use planoauth::aws::SdkConfig;
use planoauth::clock::SystemClock;
use planoauth::domain::{Actor, AuditAction, AuditEntry, Email, EmployeeChanges, Permission};
use planoauth::error::BoxError;
use planoauth::mail::Mailer;
use planoauth::store::registry;
use planoauth::store::tables::Tables;
use planoauth::use_cases::{self, EmployeeUpdate};
use planoauth::view::{Show, View};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

/// Where the commands act: the AWS configuration and, unless the `*_TABLE` variables
/// should name them, the tables.
pub struct Environment {
    pub config: SdkConfig,
    pub tables: Option<Tables>,
    /// What sends email (`notifications retry`, `employee update`); unless given, built
    /// from the environment (`ONBOARDING_SENDER`, `SIGN_IN_URL`, `PASSWORD_RESET_URL`).
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

/// Runs one command line (without the program name): a line clap cannot read is an
/// error whose text is clap's (the usage, or `--help`'s text).
pub async fn run(args: &[String], environment: &Environment) -> Result<Value, BoxError> {
    let line = std::iter::once("planoauth-admin".to_owned()).chain(args.iter().cloned());
    let cli = Cli::try_parse_from(line).map_err(|error| error.to_string())?;
    execute(cli.command, environment).await
}

/// Carries out one command.
pub async fn execute(command: Command, environment: &Environment) -> Result<Value, BoxError> {
    match command {
        Command::CreateTables { template, prefix } => {
            let template = Template::load(Path::new(&template))?;
            let client = aws_sdk_dynamodb::Client::new(&environment.config);
            tables::create_tables(&client, &template, &prefix).await?;
            let mut variables: serde_json::Map<String, Value> = tables::environment(&prefix)
                .into_iter()
                .map(|(variable, name)| (variable, Value::from(name)))
                .collect();
            let kms = aws_sdk_kms::Client::new(&environment.config);
            let key = crate::keys::ensure_totp_key(&kms, &prefix).await?;
            variables.insert(planoauth::secrets::KEY_VARIABLE.into(), Value::from(key));
            Ok(Value::Object(variables))
        }
        Command::Bootstrap {
            api_url,
            admin_email,
            sample_photographer,
            out,
        } => {
            let app = environment.app()?;
            let sample = sample_photographer.as_deref();
            let data = bootstrap::bootstrap(&app, &api_url, &admin_email, sample).await?;
            let data = serde_json::to_value(data)?;
            if let Some(path) = out {
                if let Some(parent) = Path::new(&path).parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, serde_json::to_string_pretty(&data)? + "\n")?;
            }
            Ok(data)
        }
        Command::CreateAdmin { email } => {
            let admin = bootstrap::create_admin(&environment.app()?, &email).await?;
            Ok(serde_json::to_value(admin)?)
        }
        Command::SeedReference => {
            bootstrap::seed_reference_data(&environment.app()?).await?;
            Ok(json!({ "seeded": true }))
        }
        Command::Reference(ReferenceCommand::Put { kind, key, name }) => {
            let app = environment.app()?;
            app.db.reference().put(kind, &key, &name).await?;
            Ok(json!({ "kind": kind.name(), "key": key, "name": name }))
        }
        Command::VerifySender { address } => {
            let ses = aws_sdk_ses::Client::new(&environment.config);
            ses.verify_email_identity()
                .email_address(&address)
                .send()
                .await?;
            Ok(json!({ "verifying": address }))
        }
        Command::Token(command) => token(command, environment).await,
        Command::Role(command) => role(command, environment).await,
        Command::Totp(TotpCommand::Off { user }) => {
            let app = environment.app()?;
            let mailer = environment.mailer()?;
            let audit = operator_audit(app.clock.now(), AuditAction::TotpDisabled, user);
            let turned_off = use_cases::turn_off_totp_for_owner(&app, &mailer, user, &audit)
                .await
                .map_err(|error| error.message())?;
            Ok(json!({ "user": user, "totp_turned_off": turned_off }))
        }
        Command::Sessions(SessionsCommand::End { user }) => {
            let app = environment.app()?;
            let audit = operator_audit(app.clock.now(), AuditAction::SessionsEnded, user);
            let ended = use_cases::end_sessions_recorded(&app, user, &audit).await?;
            Ok(json!({ "user": user, "sessions_ended": ended }))
        }
        Command::Employee(EmployeeCommand::Update {
            user,
            email,
            active,
        }) => update_employee(environment, user, email, active).await,
        Command::Audit(AuditArgs { user, since }) => {
            let app = environment.app()?;
            let entries = match (user, since) {
                (Some(user), _) => app.db.audit().for_user(user).await?,
                (None, Some(since)) => {
                    let since = parse_time(&since)?;
                    app.db.audit().since(since, app.clock.now()).await?
                }
                (None, None) => return Err("audit takes --user or --since".into()),
            };
            Ok(Value::Array(entries.iter().map(shown).collect()))
        }
        Command::Notifications(command) => notifications(command, environment).await,
        Command::Route {
            switch,
            path,
            reason,
        } => {
            if planoauth::routes::by_path(&path).is_none() {
                return Err(format!("there is no route {path}").into());
            }
            let key = registry::route_key(&path);
            set_switch(environment, &key, switch, reason.as_deref()).await
        }
        Command::Service {
            switch,
            name,
            reason,
        } => {
            if !planoauth::routes::ALL
                .iter()
                .any(|route| route.service() == name)
            {
                return Err(format!("there is no service {name}").into());
            }
            let key = registry::service_key(&name);
            set_switch(environment, &key, switch, reason.as_deref()).await
        }
        Command::Migrate(MigrateCommand::SessionListings) => {
            let app = environment.app()?;
            let (accounts, sessions) = use_cases::migrate_session_listings(&app).await?;
            Ok(json!({ "accounts": accounts, "sessions_listed": sessions }))
        }
    }
}

async fn token(command: TokenCommand, environment: &Environment) -> Result<Value, BoxError> {
    let app = environment.app()?;
    let tokens = app.db.application_tokens();
    match command {
        TokenCommand::Create {
            application,
            name,
            permissions,
        } => {
            let now = app.clock.now();
            let (token, record) = tokens.issue(application, &name, &permissions.0, now).await?;
            Ok(
                json!({ "id": record.id, "application": application.slug(), "name": record.name, "permissions": names(&record.permissions), "token": token }),
            )
        }
        TokenCommand::List { application } => Ok(Value::Array(
            tokens
                .list(application)
                .await?
                .into_iter()
                .map(|t| json!({ "id": t.id, "name": t.name, "permissions": names(&t.permissions), "created_at": planoauth::clock::rfc3339(t.created_at) }))
                .collect(),
        )),
        TokenCommand::Rotate { application, id } => {
            match use_cases::rotate_token(&app, application, &id).await? {
                Some((token, record)) => Ok(
                    json!({ "id": record.id, "replaces": id, "application": application.slug(), "token": token }),
                ),
                None => Err(format!("{} has no token {id}", application.slug()).into()),
            }
        }
        TokenCommand::Revoke { application, id } => {
            if tokens.revoke(application, &id).await? {
                Ok(json!({ "revoked": id }))
            } else {
                Err(format!("{} has no token {id}", application.slug()).into())
            }
        }
    }
}

async fn role(command: RoleCommand, environment: &Environment) -> Result<Value, BoxError> {
    let app = environment.app()?;
    match command {
        RoleCommand::Put {
            application,
            role,
            permissions,
            second_factor,
        } => {
            let required = second_factor == SecondFactor::Required;
            let defined =
                use_cases::define_role(&app, application, &role, &permissions.0, required).await?;
            Ok(json!({
                "application": application.slug(),
                "role": role,
                "permissions": names(&permissions.0),
                "second_factor_required": required,
                "holders": defined.holders,
                "sessions_refreshed": defined.sessions_refreshed,
            }))
        }
        RoleCommand::Grant {
            user,
            application,
            role,
        } => {
            let audit = operator_audit(app.clock.now(), AuditAction::RoleGranted, user);
            let Some(refreshed) =
                use_cases::grant_role_now(&app, user, application, &role, &audit).await?
            else {
                return Err(format!("there is no user {user}").into());
            };
            Ok(json!({
                "user": user,
                "application": application.slug(),
                "role": role,
                "sessions_refreshed": refreshed,
            }))
        }
    }
}

async fn update_employee(
    environment: &Environment,
    user: i64,
    email: Option<String>,
    active: Option<bool>,
) -> Result<Value, BoxError> {
    let app = environment.app()?;
    let Some(current) = app.db.employees().find(user).await? else {
        return Err(format!("there is no employee {user}").into());
    };
    let email = email.unwrap_or(current.email);
    let email = Email::parse(&email).map_err(|invalid| format!("--email {invalid}"))?;
    let changes = EmployeeChanges {
        active,
        ..EmployeeChanges::default()
    };
    let now = app.clock.now();
    let audit = operator_audit(now, AuditAction::EmployeeUpdated, user);
    let update = EmployeeUpdate {
        id: user,
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

async fn notifications(
    command: NotificationsCommand,
    environment: &Environment,
) -> Result<Value, BoxError> {
    let app = environment.app()?;
    let notifications = app.db.notifications();
    match command {
        NotificationsCommand::List { open } => {
            let records = match open {
                true => notifications.open().await?,
                false => notifications.all().await?,
            };
            Ok(serde_json::to_value(records)?)
        }
        NotificationsCommand::Show { id } => match notifications.get(&id).await? {
            Some(record) => Ok(serde_json::to_value(record)?),
            None => Err(format!("there is no notification {id}").into()),
        },
        NotificationsCommand::Retry { id } => {
            let Some(record) = notifications.get(&id).await? else {
                return Err(format!("there is no notification {id}").into());
            };
            if !record.open {
                return Err(format!("notification {id} is resolved").into());
            }
            let mailer = environment.mailer()?;
            let retried = use_cases::retry(&app, &mailer, &record, app.clock.now()).await?;
            Ok(json!({ "id": id, "retried": retried }))
        }
        NotificationsCommand::Resolve { id, note } => {
            if notifications.close(&id, app.clock.now(), &note).await? {
                Ok(json!({ "id": id, "resolved": true, "note": note }))
            } else {
                Err(format!("there is no open notification {id}").into())
            }
        }
    }
}

/// Switches a route or service on or off in the route registry.
async fn set_switch(
    environment: &Environment,
    key: &str,
    switch: Switch,
    reason: Option<&str>,
) -> Result<Value, BoxError> {
    let app = environment.app()?;
    let enabled = switch == Switch::Enable;
    app.db
        .registry()
        .set(key, enabled, reason, app.clock.now())
        .await?;
    Ok(json!({ "switch": key, "enabled": enabled }))
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

/// Permissions as the operator writes them.
fn names(permissions: &[Permission]) -> Vec<&'static str> {
    permissions.iter().map(|p| p.name()).collect()
}
