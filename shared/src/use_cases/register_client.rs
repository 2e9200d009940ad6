//! Registering a client.
//!
//! - With a guest session, it creates the user and the client record; the guest's
//!   session ends and a new one, with a new token, acts for the client from then on (it
//!   is returned in `session`, with its token).
//! - With the session of a user who has an account but no record (told
//!   `client-required`), it adds the client record to that account, whose password
//!   becomes the one given; that session too is replaced by a new one, and the account's
//!   other sessions end, as a password change ends them. If the account has a password,
//!   `current_password` must be it (checked as a sign-in is, and throttled): a session
//!   alone is no proof.
//! - With an application token holding `clients.register`, it registers the client
//!   directly.
//!
//! Everything is one transaction with the email claim (and the session's change), so a
//! failure leaves nothing behind and an address is never registered twice. Whether an
//! address is taken shows in the answer, so registrations are limited, counted before
//! anything is checked: per session and per source.

use super::after_conflicts;
use super::sessions::{end_sessions, new_session, push_rotation};
use crate::attempts::{self, Person};
use crate::domain::{
    Application, AuditAction, AuditEntry, Client, Email, FieldChange, Grants, Limits, Method,
    NewUser, Profile, RecordKind, Refusal, Session,
};
use crate::error::ApiError;
use crate::passwords;
use crate::pipeline::{Ctx, Repeat, Reply};
use crate::status::Status;
use crate::store::idempotency::{Answer, IdempotencyKey};
use crate::store::{Db, Outcome, PRIORITY, Step, Steps, StoreError};
use crate::use_cases::proof::prove_account_password;
use crate::use_cases::sign_in::{reopen, shown_with_token};
use crate::view::{Show, View};
use aws_sdk_dynamodb::types::TransactWriteItem;
use std::collections::BTreeMap;

/// The role a client holds in every application.
pub const CLIENT_ROLE: &str = "client";

/// A client as the request describes them.
pub struct NewClient {
    pub email: Email,
    /// The password, in the clear only until it is hashed.
    pub password: String,
    /// The account's password, to prove it, when a signed-in user's account has one.
    pub current_password: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub company: Option<String>,
    pub language: String,
}

/// What registrations are limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationLimits {
    /// Registrations, per session and per source.
    pub registrations: Limits,
    /// Wrong current passwords, on the account's sign-in budget.
    pub passwords: Limits,
}

impl Default for RegistrationLimits {
    fn default() -> Self {
        RegistrationLimits {
            registrations: Limits::REGISTRATIONS,
            passwords: Limits::PASSWORDS,
        }
    }
}

pub async fn register_client(
    ctx: &Ctx<'_>,
    new: NewClient,
    view: View,
    limits: &RegistrationLimits,
) -> Result<Reply, ApiError> {
    let session = ctx.caller.session();
    let person = session.map(|session| Person::Session(&session.id));
    let throttles = attempts::throttles("register", person, ctx.origin, &limits.registrations);
    attempts::take(&ctx.app.db, &throttles, ctx.now).await?;
    let existing_user = session.and_then(|s| s.user_id);
    let proven_password = match existing_user {
        Some(user_id) => {
            prove_current_password(ctx, user_id, new.current_password, &limits.passwords).await?
        }
        None => None,
    };
    let password_hash = passwords::accept_new("password", new.password, new.email.as_str()).await?;
    let id = match existing_user {
        Some(id) => id,
        None => ctx.app.db.counters().next("users").await?,
    };
    let roles = Application::everywhere(CLIENT_ROLE);
    let record = Client {
        id,
        email: new.email.as_str().to_owned(),
        first_name: new.first_name,
        last_name: new.last_name,
        phone: new.phone,
        company: new.company,
        language: new.language,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    // A session that registers is replaced by a new one, with a new token, in the same
    // transaction: whoever planted or saw the guest's token does not hold the client's
    // account.
    let rotated = match session {
        Some(session) => {
            let grants = grants_after_registering(ctx, session, id).await?;
            // The password it sets (and proves, on an account that had one) is its proof.
            Some(new_session(
                Some(&grants),
                Method::Password,
                session.application,
                session.remember_me,
                ctx.now,
            ))
        }
        None => None,
    };
    let data = record.show(view);
    let new_hash = rotated.as_ref().map(|(_, new)| new.token_hash.as_str());
    let claim = super::claim_step(ctx, Some(&data), Some(id), new_hash)?;
    let audit = ctx.audit(AuditAction::ClientRegistered, id, RecordKind::Client);
    let registration = Registration {
        record: &record,
        email: &new.email,
        password_hash: &password_hash,
        roles: &roles,
        existing_account: existing_user.is_some(),
        proven_password: proven_password.as_deref(),
        session: session.zip(rotated.as_ref().map(|(_, new)| new)),
    };
    register(&ctx.app.db, &registration, claim, &audit).await?;
    if let (Some(user_id), Some((_, new))) = (existing_user, &rotated) {
        // The account's password and roles changed: its other sessions, opened with the
        // old password and holding the old roles, end as a password change ends them.
        end_sessions(&ctx.app.db, user_id, Some(&new.token_hash)).await?;
    }
    Ok(match rotated {
        Some((token, new)) => Reply {
            data: Some(data),
            session: Some(shown_with_token(&new, token, ctx.session_view)),
        },
        None => Reply::data(data),
    })
}

/// A client registering: the record, the account it belongs to and the session that
/// acts for it from then on.
struct Registration<'a> {
    record: &'a Client,
    email: &'a Email,
    /// An argon2id PHC string; never the password.
    password_hash: &'a str,
    roles: &'a [(Application, &'a str)],
    /// Whether the account exists already (a user without records, signed in): the
    /// record, the role and the password are added to it.
    existing_account: bool,
    /// For an existing account, the password hash it had when the caller proved they
    /// know the password (`None`: it had none). The registration holds only while the
    /// account's password is still that one.
    proven_password: Option<&'a str>,
    /// The session registering, and the one that replaces it (a new token) once the
    /// user is a client.
    session: Option<(&'a Session, &'a Session)>,
}

/// Registers a client as one transaction: the record, the account (created, or
/// extended), the email claim, the registering session's replacement, the `audit` entry
/// (its changes filled in here) and, with `claim`, the idempotency key's. A failure leaves
/// nothing behind.
async fn register(
    db: &Db,
    registration: &Registration<'_>,
    claim: Option<TransactWriteItem>,
    audit: &AuditEntry,
) -> Result<(), ApiError> {
    let (users, emails) = (db.users(), db.emails());
    let record = registration.record;
    let normalized = registration.email.normalized();
    let (put, mut changes) = db.clients().put_step(record, registration.email)?;
    for (application, role) in registration.roles {
        let change = FieldChange {
            old: None,
            new: Some((*role).into()),
        };
        changes.insert(format!("roles.{}", application.slug()), change);
    }
    let mut steps = Steps::default();
    steps.push(Step::Record, put);
    if registration.existing_account {
        let passwords = (registration.proven_password, registration.password_hash);
        let profile =
            users.add_profile(record.id, Profile::Client, registration.roles, passwords)?;
        steps.push(Step::Account, profile).push(
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
        steps
            .push(Step::Record, users.put(&account, record.created_at)?)
            .push(Step::EmailClaim, emails.claim(&normalized, record.id)?);
    }
    if let Some((session, new)) = registration.session {
        push_rotation(db, &mut steps, session, new)?;
    }
    steps
        .push_some(Step::IdempotencyKey, claim)
        .push(Step::Audit, db.audit().put(&audit.with_changes(changes))?);
    let refusal = match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => return Ok(()),
        Outcome::Refused {
            step: Step::IdempotencyKey,
            ..
        } => return Err(ApiError::KeyClaimed),
        Outcome::Refused {
            step: Step::EmailClaim,
            ..
        } => Refusal::EmailTaken,
        // The session was registered or ended by another request meanwhile.
        Outcome::Refused {
            step: Step::Session,
            ..
        } => Refusal::SessionChanged,
        Outcome::Refused {
            step: Step::EmployeeActive,
            ..
        } => Refusal::Deactivated,
        Outcome::Refused {
            step: Step::Account,
            ..
        } => Refusal::PasswordChanged,
        Outcome::Refused {
            step: Step::Record, ..
        } if registration.existing_account => Refusal::AlreadyRegistered,
        Outcome::Conflict => {
            return Err(
                after_conflicts(db, registration.email, record.id, "registering a client").await,
            );
        }
        refused => {
            return Err(StoreError::Malformed(format!(
                "registering user {} was refused ({refused:?})",
                record.id
            ))
            .into());
        }
    };
    Err(refusal.into())
}

/// The password hash of the signed-in user's account, once `given` proved it (`None` if
/// the account has no password, and nothing to prove).
async fn prove_current_password(
    ctx: &Ctx<'_>,
    user_id: i64,
    given: Option<String>,
    limits: &Limits,
) -> Result<Option<String>, ApiError> {
    let account = ctx
        .app
        .db
        .users()
        .account(user_id)
        .await?
        .ok_or_else(|| ApiError::reject(Status::InvalidToken))?;
    if let Some(stored) = &account.password_hash {
        prove_account_password(ctx, user_id, stored, given, "current_password", limits).await?;
    }
    Ok(account.password_hash)
}

/// What the registering session may do once the user is a client: the client role in
/// every application, which registering gives the account (replacing any role it held).
async fn grants_after_registering(
    ctx: &Ctx<'_>,
    session: &Session,
    user_id: i64,
) -> Result<Grants, ApiError> {
    let roles: BTreeMap<Application, String> = Application::everywhere(CLIENT_ROLE)
        .map(|(application, role)| (application, role.to_owned()))
        .into();
    let mut profiles = session.profiles.clone();
    if !profiles.contains(&Profile::Client) {
        profiles.push(Profile::Client);
    }
    let db = &ctx.app.db;
    let held = db.roles().held(&roles).await?;
    // Only a role that requires a second factor makes the account's own worth reading.
    let owes_second_factor = held.second_factor_required
        && !db
            .users()
            .account(user_id)
            .await?
            .is_some_and(|account| account.has_second_factor());
    Ok(Grants {
        user_id,
        profiles,
        permissions: held.permissions,
        password_change_required: false,
        second_factor_enrolment_required: owes_second_factor,
    })
}

/// A repeated registration answers with the client's record as it was first shown and,
/// when a session registered, the session it opened, under a new token.
pub async fn repeat_registration(
    repeat: &Repeat<'_>,
    key: &IdempotencyKey,
    answer: &Answer,
) -> Result<Reply, ApiError> {
    let session = match answer.session_hash {
        Some(_) => Some(reopen(repeat, key, answer).await?),
        None => None,
    };
    Ok(Reply {
        data: answer.data.clone(),
        session,
    })
}
