//! Opening sessions: signing a user in, or a guest session (what a registration page
//! holds before `users/client_register`). An account with TOTP gets a challenge for its
//! second factor instead of a session ([`super::second_factor_sign_in`]).
//!
//! An unknown email and a wrong password get the same answer after the same work (a read
//! of the address and of an account, an attempt taken from the limits, one argon2id
//! verification), so neither the answer nor its time tells which addresses have accounts.
//! Wrong passwords are counted per person (the account, or the address when it has none)
//! and per source ([`Limits`]), each attempt before its verification; past a limit, every
//! attempt is refused until the window ends, the right password too.

use super::second_factor_sign_in::{challenge, passkey_required};
use super::sessions::{new_session, reissue, write_opened};
use crate::attempts::{self, Person};
use crate::domain::Refusal;
use crate::domain::{Account, Email, Limits, Method, Session};
use crate::error::ApiError;
use crate::idempotency;
use crate::pipeline::{Ctx, Repeat, Reply};
use crate::status::Status;
use crate::store::idempotency::{Answer, IdempotencyKey};
use crate::view::{Show, View};
use serde_json::Value;

/// Opens a session: for the user whose `(email, password)` these are, or a guest's
/// without them. The answer holds the session with its token (as registration's and a
/// password change's do with the session they replace the caller's with).
pub async fn open_session(
    ctx: &Ctx<'_>,
    credentials: Option<(Email, String)>,
    remember_me: bool,
    limits: &Limits,
) -> Result<Reply, ApiError> {
    let (grants, account) = match credentials {
        None => (None, None),
        Some((email, password)) => {
            let breached = is_breached(&password);
            let account = sign_in(ctx, &email, password, limits).await?;
            if account.totp.is_some() {
                let challenge = challenge(ctx, &account, remember_me, breached).await?;
                return Err(challenge);
            }
            let held = ctx.app.db.roles().held(&account.roles).await?;
            // A role that requires a second factor is not satisfied by the password of an
            // account whose second factor is a passkey: it signs in with the passkey.
            if account.passkeys > 0 && held.second_factor_required {
                return Err(passkey_required());
            }
            let mut grants = super::grants_from(&account, held);
            // A right password that guessers try first must be replaced before the
            // session does anything else, as one someone else set must.
            grants.password_change_required |= breached;
            (Some(grants), Some(account))
        }
    };
    let (token, session) = new_session(
        grants.as_ref(),
        Method::Password,
        ctx.application,
        remember_me,
        ctx.now,
    );
    let claim = super::claim_step(
        ctx,
        None,
        grants.as_ref().map(|g| g.user_id),
        Some(&session.token_hash),
    )?;
    match write_opened(&ctx.app.db, &session, account.as_ref(), claim).await? {
        Ok(()) => {}
        // The password was changed or reset since it was checked.
        Err(Refusal::PasswordChanged) => return Err(mismatch()),
        Err(refusal) => return Err(refusal.into()),
    }
    Ok(Reply::session(shown_with_token(
        &session,
        token,
        ctx.session_view,
    )))
}

/// A repeated sign-in answers with the session the first one opened, under a new token.
pub async fn repeat_opened_session(
    repeat: &Repeat<'_>,
    key: &IdempotencyKey,
    answer: &Answer,
) -> Result<Reply, ApiError> {
    Ok(Reply::session(reopen(repeat, key, answer).await?))
}

/// The session a key's first request opened, under a new token: the first answer's token
/// is not kept anywhere, and stops working now. Shown as the repeat asks.
pub(super) async fn reopen(
    repeat: &Repeat<'_>,
    key: &IdempotencyKey,
    answer: &Answer,
) -> Result<Value, ApiError> {
    let idempotency = repeat.app.db.idempotency();
    let mut opened = answer.session_hash.clone();
    let mut attempts = 0..3;
    while let (Some(hash), Some(_)) = (opened.take(), attempts.next()) {
        let reissued = reissue(&repeat.app.db, &hash, repeat.now, |new_hash| {
            idempotency.move_session(&key.key_hash, &hash, new_hash)
        })
        .await;
        match reissued {
            Ok(Some((token, session))) => {
                return Ok(shown_with_token(&session, token, repeat.session_view));
            }
            Ok(None) => {
                return Err(ApiError::invalid(
                    idempotency::HEADER,
                    "opened a session that has ended since: sign in again with a new key",
                ));
            }
            // A concurrent repeat moved the session first: follow it.
            Err(ApiError::KeyClaimed) => {
                opened = idempotency
                    .find(&key.key_hash, repeat.now)
                    .await?
                    .and_then(|recorded| recorded.answer.session_hash);
            }
            Err(error) => return Err(error),
        }
    }
    Err(ApiError::reject(Status::RecordBusy))
}

/// A session as the caller asked to see it, with its token: for the answers that open
/// one, the only ones that ever hold a token.
pub(super) fn shown_with_token(session: &Session, token: String, view: View) -> Value {
    let mut shown = session.show(view);
    shown["token"] = Value::from(token);
    shown
}

/// The account whose password this is, or the one refusal every failure shares.
async fn sign_in(
    ctx: &Ctx<'_>,
    email: &Email,
    password: String,
    limits: &Limits,
) -> Result<Account, ApiError> {
    let db = &ctx.app.db;
    let owner = db.emails().owner(&email.normalized()).await?;
    // Read an account even when the address has none, so both cost the same.
    let account = db
        .users()
        .account(owner.unwrap_or(0))
        .await?
        .filter(|_| owner.is_some());
    // The account's budget is the one every route that checks its password shares.
    let person = account.as_ref().map_or(Person::Address(email), |account| {
        Person::Account(account.id)
    });
    let throttles = attempts::password_throttles(person, ctx.origin, limits);
    let stored = account.as_ref().and_then(|a| a.password_hash.as_deref());
    if !attempts::check_password(db, &throttles, ctx.now, stored, password).await? {
        return Err(mismatch());
    }
    // A deactivated employee is refused by the write of the session itself, which holds
    // only while they are active and is checked again once written
    // (`Refusal::Deactivated`): no read here could see a deactivation that lands before
    // the session does.
    account.ok_or_else(mismatch)
}

/// Whether `password` is a breached one. Sign-in goes on without the list if it cannot
/// be read (the routes that set a password refuse to), saying so in the log.
fn is_breached(password: &str) -> bool {
    match crate::passwords::breached::loaded() {
        Ok(list) => list.contains(password),
        Err(reason) => {
            tracing::error!(%reason, "sign-in without the breached passwords check");
            false
        }
    }
}

fn mismatch() -> ApiError {
    ApiError::invalid("password", "the email address and password do not match")
}
