//! The operator tool's command line, declared once: `planoauth-admin --help` (and each
//! command's `--help`) is generated from it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use planoauth::domain::{Application, Permission, ReferenceKind};

/// The operator's tool for what has no public route. It acts on whatever AWS the
/// environment names (`AWS_ENDPOINT_URL` for the local stack), finds the tables through
/// the `*_TABLE` variables the functions read, and prints each result as JSON. Role and
/// grant changes reach open sessions at once; route and service switches within half a
/// minute.
#[derive(Debug, Parser)]
#[command(name = "planoauth-admin", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Creates the tables of template.yaml (those missing) and the TOTP key (if missing),
    /// and prints the variables that name them.
    CreateTables {
        #[arg(long, default_value = "template.yaml")]
        template: String,
        #[arg(long, default_value = "planoauth-local-")]
        prefix: String,
    },
    /// A new install: the roles, reference data, a token per application holding every
    /// permission, and a first admin.
    Bootstrap {
        /// The API's URL, as the bootstrap file tells clients.
        #[arg(long)]
        api_url: String,
        #[arg(long, default_value = "admin@planoauth.local")]
        admin_email: String,
        /// Also a photographer to try updates on (`staff` everywhere, no password).
        #[arg(long)]
        sample_photographer: Option<String>,
        /// Where to write what a client needs (the tokens, the admin's password).
        #[arg(long)]
        out: Option<String>,
    },
    /// Another admin in every application, with a generated password shown once.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// The service areas, departments and designations of a new install.
    SeedReference,
    /// Reference data.
    #[command(subcommand)]
    Reference(ReferenceCommand),
    /// Asks SES to verify a sender's address.
    VerifySender {
        #[arg(long)]
        address: String,
    },
    /// Application tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Roles and grants.
    #[command(subcommand)]
    Role(RoleCommand),
    /// A user's TOTP.
    #[command(subcommand)]
    Totp(TotpCommand),
    /// A user's sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Employee records.
    #[command(subcommand)]
    Employee(EmployeeCommand),
    /// The audit trail, oldest first: a person's, or everyone's since a time.
    Audit(AuditArgs),
    /// The team's notifications (failed emails).
    #[command(subcommand)]
    Notifications(NotificationsCommand),
    /// Switches a route on or off in the route registry.
    Route {
        #[arg(value_enum)]
        switch: Switch,
        /// `/api/v1/RESOURCE/ACTION`.
        #[arg(long)]
        path: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Switches a service (a route's resource) on or off in the route registry.
    Service {
        #[arg(value_enum)]
        switch: Switch,
        /// The resource part of its routes' paths (`employees`, `sessions`, ...).
        #[arg(long)]
        name: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// One-off moves after an upgrade.
    #[command(subcommand)]
    Migrate(MigrateCommand),
}

#[derive(Debug, Subcommand)]
pub enum ReferenceCommand {
    /// Adds or renames an entry.
    Put {
        #[arg(long, value_parser = reference_kind)]
        kind: ReferenceKind,
        #[arg(long)]
        key: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// A new token, shown once.
    Create {
        #[arg(long, value_parser = application)]
        application: Application,
        #[arg(long)]
        name: String,
        /// Comma-separated: employees.update, photographers.create, sessions.create,
        /// clients.register, passwords.reset.
        #[arg(long, value_parser = permissions, default_value = "")]
        permissions: Permissions,
    },
    List {
        #[arg(long, value_parser = application)]
        application: Application,
    },
    /// A new token for an old one, which stops working in the same transaction.
    Rotate {
        #[arg(long, value_parser = application)]
        application: Application,
        #[arg(long)]
        id: String,
    },
    Revoke {
        #[arg(long, value_parser = application)]
        application: Application,
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Creates or replaces a role; its holders' open sessions are updated.
    Put {
        #[arg(long, value_parser = application)]
        application: Application,
        #[arg(long)]
        role: String,
        #[arg(long, value_parser = permissions, default_value = "")]
        permissions: Permissions,
        /// `required`: the role's holders must sign in with a second factor (TOTP or a
        /// passkey); until they have one, their sessions may only enrol one.
        #[arg(long, value_parser = second_factor, default_value = "optional")]
        second_factor: SecondFactor,
    },
    /// Gives a user a role; their open sessions are updated.
    Grant {
        #[arg(long)]
        user: i64,
        #[arg(long, value_parser = application)]
        application: Application,
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TotpCommand {
    /// Turns a user's TOTP off, recovery codes with it (they lost both, and proved who
    /// they are some other way), with an audit record and a notice to the owner.
    Off {
        #[arg(long)]
        user: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Ends every session of a user, with an audit record.
    End {
        #[arg(long)]
        user: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum EmployeeCommand {
    /// Changes anyone's address or `active` flag, an admin's too (the API lets a caller
    /// change only people it holds every permission of), with the same transaction,
    /// audit record and notices as the route: a moved address notifies both addresses
    /// (ONBOARDING_SENDER, SIGN_IN_URL and PASSWORD_RESET_URL name the sender and the
    /// links, as in the template).
    Update {
        #[arg(long)]
        user: i64,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        active: Option<bool>,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct AuditArgs {
    #[arg(long)]
    pub user: Option<i64>,
    /// RFC 3339 or Unix seconds.
    #[arg(long)]
    pub since: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// Every notification, newest first (`--open`: the open ones, oldest first).
    List {
        #[arg(long)]
        open: bool,
    },
    Show {
        #[arg(long)]
        id: String,
    },
    /// Sends a notification's email (a welcome or a security notice) again now, through
    /// the schedule's claim (ONBOARDING_SENDER, SIGN_IN_URL and PASSWORD_RESET_URL, as in
    /// the template).
    Retry {
        #[arg(long)]
        id: String,
    },
    /// Closes a notification with a note.
    Resolve {
        #[arg(long)]
        id: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Moves the session lists of accounts from releases before the account sessions
    /// table into it (a Scan of the users table: once, after the upgrade).
    SessionListings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    Disable,
    Enable,
}

/// Permissions as the operator writes them.
#[derive(Debug, Clone, Default)]
pub struct Permissions(pub Vec<Permission>);

fn application(slug: &str) -> Result<Application, String> {
    Application::from_slug(slug)
        .ok_or_else(|| format!("{slug} is none of planoauth, planoorder, planox2"))
}

/// Whether a role's holders must have a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Optional,
    Required,
}

fn second_factor(value: &str) -> Result<SecondFactor, String> {
    match value {
        "optional" => Ok(SecondFactor::Optional),
        "required" => Ok(SecondFactor::Required),
        other => Err(format!("{other} is neither required nor optional")),
    }
}

fn permissions(list: &str) -> Result<Permissions, String> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| Permission::from_name(name).ok_or_else(|| format!("unknown permission {name}")))
        .collect::<Result<_, _>>()
        .map(Permissions)
}

fn reference_kind(name: &str) -> Result<ReferenceKind, String> {
    match name {
        "service_area" => Ok(ReferenceKind::ServiceArea),
        "department" => Ok(ReferenceKind::Department),
        "designation" => Ok(ReferenceKind::Designation),
        other => Err(format!(
            "{other} is none of service_area, department, designation"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
