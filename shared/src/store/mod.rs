//! The per-table stores, on the DynamoDB toolkit ([`crate::dynamo`]). Each module owns
//! one table's items, and every store borrows the one handle, [`Db`]; this module holds
//! that handle and what a transaction's steps stand for ([`Step`]). The stores import the domain and nothing above it.

pub mod account_sessions;
pub mod application_tokens;
pub mod audit;
pub mod clients;
pub mod counters;
pub mod emails;
pub mod employees;
pub mod idempotency;
pub mod notifications;
pub mod passkey_ceremonies;
pub mod passkeys;
pub mod password_resets;
pub mod reference;
pub mod registry;
pub mod roles;
pub mod second_factors;
pub mod session_expiry;
pub mod sessions;
pub mod tables;
pub mod throttles;
pub mod users;

pub(crate) use crate::dynamo::WRITE_TOKEN;
pub use crate::dynamo::{
    Backoff, Conditional, Expression, Item, ItemKey, ReadAhead, Reader, StoreError, batch_get,
    every_page, get_with, number, put, put_new, put_new_step, send_through_conflicts, string,
    update_if, update_within,
};
use aws_sdk_dynamodb::Client;
use reference::KnownReferences;
use tables::Tables;

/// The one handle every store borrows: the DynamoDB client, the tables' names, the
/// reference data this process has seen exist and the roles it has read. Built once per
/// cold start.
pub struct Db {
    pub client: Client,
    pub tables: Tables,
    known_references: KnownReferences,
    role_cache: roles::RoleCache,
}

impl Db {
    pub fn new(client: Client, tables: Tables) -> Db {
        Db {
            client,
            tables,
            known_references: KnownReferences::default(),
            role_cache: roles::RoleCache::default(),
        }
    }

    pub fn roles(&self) -> roles::Roles<'_> {
        roles::Roles {
            client: &self.client,
            table: &self.tables.roles,
            cache: &self.role_cache,
        }
    }

    pub fn reference(&self) -> reference::Reference<'_> {
        reference::Reference {
            client: &self.client,
            table: &self.tables.reference,
            known: &self.known_references,
        }
    }
}

/// The accessors of the stores that need only the client and their table's name.
macro_rules! stores {
    ($($accessor:ident: $module:ident::$store:ident on $table:ident),* $(,)?) => {
        impl Db {
            $(
                pub fn $accessor(&self) -> $module::$store<'_> {
                    $module::$store {
                        client: &self.client,
                        table: &self.tables.$table,
                    }
                }
            )*
        }
    };
}

stores! {
    sessions: sessions::Sessions on sessions,
    session_expiry: session_expiry::SessionExpiry on sessions,
    account_sessions: account_sessions::AccountSessions on account_sessions,
    application_tokens: application_tokens::ApplicationTokens on application_tokens,
    users: users::Users on users,
    second_factors: second_factors::SecondFactors on users,
    employees: employees::Employees on employees,
    clients: clients::Clients on clients,
    emails: emails::Emails on emails,
    notifications: notifications::Notifications on notifications,
    registry: registry::Registry on route_registry,
    counters: counters::Counters on counters,
    throttles: throttles::Throttles on throttles,
    password_resets: password_resets::PasswordResets on password_resets,
    audit: audit::Audit on audit,
    idempotency: idempotency::Idempotency on idempotency,
    passkeys: passkeys::Passkeys on passkeys,
    passkey_ceremonies: passkey_ceremonies::PasskeyCeremonies on passkey_ceremonies,
}

/// What a step of a transaction stands for, so that a cancellation says which condition
/// refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A write to the record itself (or its own email claim being released).
    Record,
    EmailClaim,
    /// A session's item or its listing: the one a registration or a password change
    /// replaces, the new one's listing, the ones an ending deletes.
    Session,
    /// A write to the user's account, or a check of it, that holds while it is as it was
    /// read (its password, its existence).
    Account,
    /// The condition that the employee a session opens for is active.
    EmployeeActive,
    /// The claim of an idempotency key, written with the work it stands for.
    IdempotencyKey,
    /// A passkey's item: the one added, removed, or used to sign in.
    Passkey,
    /// The account's second factor: TOTP turned on or off, a code used.
    SecondFactor,
    /// A challenge or ceremony used up by the change it let through.
    Ceremony,
    /// The audit record of the change: unconditional, so never the one refused.
    Audit,
}

/// A transaction of PlanoAuth's, its steps tagged with what they stand for.
pub type Steps = crate::dynamo::Transaction<Step>;

/// What a transaction of PlanoAuth's did.
pub type Outcome = crate::dynamo::Outcome<Step>;

/// The order in which a cancelled transaction's refusals are read: the idempotency key
/// first (the work was done by the key's first request), then the record (it must be
/// read again before anything else means something), then the others in order.
pub const PRIORITY: [Step; 2] = [Step::IdempotencyKey, Step::Record];

/// Reads a set of profiles; names it does not know are left out.
pub(crate) fn profiles(read: &Reader<'_>, name: &str) -> Vec<crate::domain::Profile> {
    read.strings(name)
        .iter()
        .filter_map(|profile| crate::domain::Profile::from_name(profile))
        .collect()
}

/// A set of profiles as DynamoDB holds it; `None` when empty (it has no empty sets).
pub(crate) fn profiles_value(
    profiles: &[crate::domain::Profile],
) -> Option<aws_sdk_dynamodb::types::AttributeValue> {
    (!profiles.is_empty()).then(|| {
        aws_sdk_dynamodb::types::AttributeValue::Ss(
            profiles.iter().map(|p| p.name().to_owned()).collect(),
        )
    })
}
