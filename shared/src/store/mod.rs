//! The per-table stores, on the DynamoDB toolkit ([`crate::dynamo`]). Each module owns
//! one table's items, and every store borrows the one handle, [`Db`]; this module holds
//! that handle, why a write is refused ([`WriteError`]) and what a transaction's steps
//! stand for ([`Step`]). The stores import the domain and nothing above it.

pub mod application_tokens;
pub mod audit;
pub mod clients;
pub mod counters;
pub mod emails;
pub mod employees;
pub mod idempotency;
pub mod notifications;
pub mod password_resets;
pub mod reference;
pub mod registry;
pub mod roles;
pub mod sessions;
pub mod tables;
pub mod throttles;
pub mod users;

use crate::domain::ReferenceKind;
pub(crate) use crate::dynamo::{Backoff, WRITE_TOKEN};
pub use crate::dynamo::{
    Conditional, Expression, Item, ItemKey, ReadAhead, Reader, StoreError, batch_get, every_page,
    get_with, number, put, put_new, put_new_step, send_through_conflicts, string, update_if,
    update_within,
};
use aws_sdk_dynamodb::Client;
use reference::KnownReferences;
use tables::Tables;

/// Why a write was refused: each maps to one documented status, in one place
/// (`ApiError`'s `From<WriteError>`), so no handler matches on store errors.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("no employee has the id {0}")]
    UnknownEmployee(i64),
    #[error("the email address belongs to another user")]
    EmailTaken,
    #[error("no {} has this id or slug", .0.name())]
    UnknownReference(ReferenceKind),
    #[error("the off-boarding date is before the hiring date")]
    OffBoardedBeforeHired,
    #[error("the user already has a record")]
    AlreadyRegistered,
    #[error("the session was ended or changed by another request")]
    SessionChanged,
    #[error("the employee is deactivated")]
    Deactivated,
    /// A change the caller may not make to its own record (the reason says which).
    #[error("{0}")]
    OwnRecord(&'static str),
    /// The account's password is no longer the one the request checked.
    #[error("the password was changed meanwhile")]
    PasswordChanged,
    /// The account's roles are no longer the ones the request read.
    #[error("the account's roles were changed meanwhile")]
    GrantsChanged,
    /// Another request holding the same idempotency key did the work first.
    #[error("the idempotency key was claimed by another request")]
    KeyClaimed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

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

    pub fn sessions(&self) -> sessions::Sessions<'_> {
        sessions::Sessions {
            client: &self.client,
            table: &self.tables.sessions,
            db: self,
        }
    }

    pub fn application_tokens(&self) -> application_tokens::ApplicationTokens<'_> {
        application_tokens::ApplicationTokens {
            client: &self.client,
            table: &self.tables.application_tokens,
        }
    }

    pub fn roles(&self) -> roles::Roles<'_> {
        roles::Roles {
            client: &self.client,
            table: &self.tables.roles,
            cache: &self.role_cache,
        }
    }

    pub fn users(&self) -> users::Users<'_> {
        users::Users { db: self }
    }

    pub fn employees(&self) -> employees::Employees<'_> {
        employees::Employees { db: self }
    }

    pub fn clients(&self) -> clients::Clients<'_> {
        clients::Clients { db: self }
    }

    pub fn emails(&self) -> emails::Emails<'_> {
        emails::Emails {
            client: &self.client,
            table: &self.tables.emails,
        }
    }

    pub fn reference(&self) -> reference::Reference<'_> {
        reference::Reference {
            client: &self.client,
            table: &self.tables.reference,
            known: &self.known_references,
        }
    }

    pub fn notifications(&self) -> notifications::Notifications<'_> {
        notifications::Notifications {
            client: &self.client,
            table: &self.tables.notifications,
        }
    }

    pub fn registry(&self) -> registry::Registry<'_> {
        registry::Registry {
            client: &self.client,
            table: &self.tables.route_registry,
        }
    }

    pub fn counters(&self) -> counters::Counters<'_> {
        counters::Counters {
            client: &self.client,
            table: &self.tables.counters,
        }
    }

    pub fn throttles(&self) -> throttles::Throttles<'_> {
        throttles::Throttles {
            client: &self.client,
            table: &self.tables.throttles,
        }
    }

    pub fn password_resets(&self) -> password_resets::PasswordResets<'_> {
        password_resets::PasswordResets { db: self }
    }

    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit {
            client: &self.client,
            table: &self.tables.audit,
        }
    }

    pub fn idempotency(&self) -> idempotency::Idempotency<'_> {
        idempotency::Idempotency {
            client: &self.client,
            table: &self.tables.idempotency,
        }
    }
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
