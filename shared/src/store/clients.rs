//! Client records: the people PlanoAuth's applications serve, keyed by their user's id.

use super::{
    Db, Item, Outcome, PRIORITY, Reader, Step, Steps, StoreError, WriteError, audit, number, string,
};
use crate::domain::{
    Application, AuditEntry, Client, Email, FieldChange, NewUser, Profile, Session,
};
use aws_sdk_dynamodb::types::TransactWriteItem;

mod attr {
    pub const ID: &str = "id";
    pub const EMAIL: &str = "email";
    pub const EMAIL_NORMALIZED: &str = "email_normalized";
    pub const FIRST_NAME: &str = "first_name";
    pub const LAST_NAME: &str = "last_name";
    pub const PHONE: &str = "phone";
    pub const COMPANY: &str = "company";
    pub const LANGUAGE: &str = "language";
    pub const CREATED_AT: &str = "created_at";
    pub const UPDATED_AT: &str = "updated_at";
}

fn item_of(record: &Client, email: &Email) -> Item {
    let mut item = Item::from([
        (attr::ID.into(), number(record.id)),
        (attr::EMAIL.into(), string(&record.email)),
        (attr::EMAIL_NORMALIZED.into(), string(email.normalized())),
        (attr::FIRST_NAME.into(), string(&record.first_name)),
        (attr::LAST_NAME.into(), string(&record.last_name)),
        (attr::PHONE.into(), string(&record.phone)),
        (attr::LANGUAGE.into(), string(&record.language)),
        (attr::CREATED_AT.into(), number(record.created_at)),
        (attr::UPDATED_AT.into(), number(record.updated_at)),
    ]);
    if let Some(company) = &record.company {
        item.insert(attr::COMPANY.into(), string(company));
    }
    item
}

fn client_from(item: &Item) -> Result<Client, StoreError> {
    let read = Reader(item);
    Ok(Client {
        id: read.num(attr::ID)?,
        email: read.str(attr::EMAIL)?.to_owned(),
        first_name: read.str(attr::FIRST_NAME)?.to_owned(),
        last_name: read.str(attr::LAST_NAME)?.to_owned(),
        phone: read.str(attr::PHONE)?.to_owned(),
        company: read.opt_str(attr::COMPANY).map(str::to_owned),
        language: read.str(attr::LANGUAGE)?.to_owned(),
        created_at: read.num(attr::CREATED_AT)?,
        updated_at: read.num(attr::UPDATED_AT)?,
    })
}

/// A client registering: the record, the account it belongs to and the session that
/// acts for it from then on.
pub struct Registration<'a> {
    pub record: &'a Client,
    pub email: &'a Email,
    /// An argon2id PHC string; never the password.
    pub password_hash: &'a str,
    pub roles: &'a [(Application, &'a str)],
    /// Whether the account exists already (a user without records, signed in): the
    /// record, the role and the password are added to it.
    pub existing_account: bool,
    /// For an existing account, the password hash it had when the caller proved they
    /// know the password (`None`: it had none). The registration holds only while the
    /// account's password is still that one.
    pub proven_password: Option<&'a str>,
    /// The session registering, and the one that replaces it (a new token) once the
    /// user is a client.
    pub session: Option<(&'a Session, &'a Session)>,
}

pub struct Clients<'a> {
    pub(super) db: &'a Db,
}

impl Clients<'_> {
    /// Registers a client as one transaction: the record, the account (created, or
    /// extended), the email claim, the registering session's new grants, the `audit`
    /// entry (its changes filled in here) and, with `claim`, an idempotency key's claim.
    /// A failure leaves nothing behind.
    pub async fn register(
        &self,
        registration: &Registration<'_>,
        claim: Option<TransactWriteItem>,
        audit: &AuditEntry,
    ) -> Result<(), WriteError> {
        let (users, emails) = (self.db.users(), self.db.emails());
        let record = registration.record;
        let normalized = registration.email.normalized();
        let item = item_of(record, registration.email);
        let bookkeeping = [
            attr::ID,
            attr::EMAIL_NORMALIZED,
            attr::CREATED_AT,
            attr::UPDATED_AT,
        ];
        let mut changes = audit::changes(&Item::new(), &item, &bookkeeping);
        for (application, role) in registration.roles {
            let change = FieldChange {
                old: None,
                new: Some((*role).into()),
            };
            changes.insert(format!("roles.{}", application.slug()), change);
        }
        let mut steps = Steps::default();
        steps.push(
            Step::Record,
            super::put_new_step(&self.db.tables.clients, item, attr::ID)?,
        );
        if registration.existing_account {
            steps.push(
                Step::Account,
                users.add_profile(
                    record.id,
                    Profile::Client,
                    registration.roles,
                    (registration.proven_password, registration.password_hash),
                )?,
            );
            steps.push(
                Step::EmailClaim,
                emails.claim_or_keep(&normalized, record.id)?,
            );
        } else {
            let account = NewUser {
                id: record.id,
                roles: registration.roles,
                profiles: &[Profile::Client],
                password_hash: Some(registration.password_hash),
                password_change_required: false,
            };
            steps.push(Step::Record, users.put(&account, record.created_at)?);
            steps.push(Step::EmailClaim, emails.claim(&normalized, record.id)?);
        }
        if let Some((session, new)) = registration.session {
            for (kind, step) in self.db.sessions().rotate(session, new)? {
                steps.push(kind, step);
            }
        }
        steps.push_some(Step::IdempotencyKey, claim);
        steps.push(
            Step::Audit,
            self.db.audit().put(&audit.with_changes(changes))?,
        );
        match steps.run(&self.db.client, &PRIORITY).await? {
            Outcome::Written => Ok(()),
            Outcome::Refused {
                step: Step::IdempotencyKey,
                ..
            } => Err(WriteError::KeyClaimed),
            Outcome::Refused {
                step: Step::EmailClaim,
                ..
            } => Err(WriteError::EmailTaken),
            // The session was registered or ended by another request meanwhile.
            Outcome::Refused {
                step: Step::Session,
                ..
            } => Err(WriteError::SessionChanged),
            Outcome::Refused {
                step: Step::EmployeeActive,
                ..
            } => Err(WriteError::Deactivated),
            Outcome::Refused {
                step: Step::Account,
                ..
            } => Err(WriteError::PasswordChanged),
            Outcome::Refused {
                step: Step::Record, ..
            } if registration.existing_account => Err(WriteError::AlreadyRegistered),
            Outcome::Conflict => Err(emails
                .after_conflicts(registration.email, record.id, "registering a client")
                .await),
            refused => Err(StoreError::Malformed(format!(
                "registering user {} was refused ({refused:?})",
                record.id
            ))
            .into()),
        }
    }

    pub async fn find(&self, id: i64) -> Result<Option<Client>, StoreError> {
        let output = self
            .db
            .client
            .get_item()
            .table_name(&self.db.tables.clients)
            .key(attr::ID, number(id))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(client_from).transpose()
    }
}
