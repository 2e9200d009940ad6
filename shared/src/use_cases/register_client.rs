//! Registering a client.
//!
//! - With a guest session, it creates the user and the client record; the guest's
//!   session ends and a new one, with a new token, acts for the client from then on (it
//!   is returned in `session`, with its token).
//! - With the session of a user who has an account but no record (told
//!   `client-required`), it adds the client record to that account, whose password
//!   becomes the one given; that session too is replaced by a new one. If the account
//!   has a password, `current_password` must be it (checked as a sign-in is, and
//!   throttled): a session alone is no proof.
//! - With an application token holding `clients.register`, it registers the client
//!   directly.
//!
//! Everything is one transaction with the email claim (and the session's change), so a
//! failure leaves nothing behind and an address is never registered twice. Whether an
//! address is taken shows in the answer, so registrations are limited, counted before
//! anything is checked: per session and per source.

use crate::attempts::{self, Person};
use crate::domain::{
    Application, AuditAction, Client, Email, Grants, Limits, Profile, RecordKind, Session,
};
use crate::error::ApiError;
use crate::passwords;
use crate::pipeline::{Ctx, Repeat, Reply};
use crate::status::Status;
use crate::store::clients::Registration;
use crate::store::idempotency::{Answer, IdempotencyKey};
use crate::store::sessions;
use crate::use_cases::proof::prove_account_password;
use crate::use_cases::sign_in::{reopen, shown_with_token};
use crate::view::{Show, View};
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
    let roles: Vec<(Application, &str)> = Application::ALL
        .iter()
        .map(|app| (*app, CLIENT_ROLE))
        .collect();
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
            Some(sessions::open(
                Some(&grants),
                session.application,
                session.remember_me,
                ctx.now,
            ))
        }
        None => None,
    };
    let registration = Registration {
        record: &record,
        email: &new.email,
        password_hash: &password_hash,
        roles: &roles,
        existing_account: existing_user.is_some(),
        proven_password: proven_password.as_deref(),
        session: session.zip(rotated.as_ref().map(|(_, new)| new)),
    };
    let data = record.show(view);
    let new_hash = rotated.as_ref().map(|(_, new)| new.token_hash.as_str());
    let claim = ctx.claim(Some(&data), Some(id), new_hash)?;
    let audit = ctx.audit(AuditAction::ClientRegistered, id, RecordKind::Client);
    ctx.app
        .db
        .clients()
        .register(&registration, claim, &audit)
        .await?;
    Ok(match rotated {
        Some((token, new)) => Reply {
            data: Some(data),
            session: Some(shown_with_token(&new, token, ctx.session_view)),
        },
        None => Reply::data(data),
    })
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
    let roles: BTreeMap<Application, String> = Application::ALL
        .iter()
        .map(|application| (*application, CLIENT_ROLE.to_owned()))
        .collect();
    let mut profiles = session.profiles.clone();
    if !profiles.contains(&Profile::Client) {
        profiles.push(Profile::Client);
    }
    Ok(Grants {
        user_id,
        profiles,
        permissions: ctx.app.db.roles().permissions(&roles).await?,
        password_change_required: false,
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
