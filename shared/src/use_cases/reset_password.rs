//! Recovering a forgotten password.
//!
//! - `users/password_forgot` answers the same whether or not the address has an account,
//!   and no sooner than a fixed time after it began ([`ResetRequests::answer_after`]),
//!   so neither the answer nor its time tells which addresses have accounts. For an
//!   account, it stores a new reset token (as a hash; it replaces any older one) and
//!   emails a link with the token, which works once within 30 minutes. If the email
//!   cannot be sent, the team gets a notification and the caller the same answer. The
//!   email goes to the address as the account's record holds it, whatever case the
//!   caller typed. Each request is counted before anything is sent, per address and per
//!   source, alike for every address: however requests arrive, an address gets at most
//!   the limit's emails in a window.
//! - `users/password_reset` takes the token and a new password: the password is set and
//!   the token used up in one transaction, then every session of the user ends and the
//!   owner gets a security notice.

use super::change_password::address_of;
use super::notices::{Notice, RefusedEmail, record_refused_email, send_notices};
use super::sessions::end_sessions;
use crate::attempts::{self, Person};
use crate::domain::{AuditAction, Email, Limits, Origin, RecordKind, SecurityNotice, Throttle};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::metrics::{self, Metric};
use crate::passwords;
use crate::pipeline::{Ctx, Reply};
use crate::store::notifications::FailedEmail;
use crate::store::password_resets::LIFETIME;
use crate::store::users::PasswordProof;
use crate::store::{Db, Outcome, PRIORITY, Step, Steps, StoreError};
use crate::tokens::{self, TokenKind};
use serde_json::json;
use std::time::Duration;

/// How `users/password_forgot` is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetRequests {
    pub limits: Limits,
    /// The answer is held until this long after the request began, so that the extra
    /// work for an existing account (a write and the email) does not show in its time.
    /// Longer than that work takes while SES is healthy.
    pub answer_after: Duration,
}

impl Default for ResetRequests {
    fn default() -> Self {
        ResetRequests {
            limits: Limits::RESET_REQUESTS,
            answer_after: Duration::from_millis(800),
        }
    }
}

/// What reset requests are counted against: the address (by its hash) and the source.
pub fn reset_throttles(email: &Email, origin: &Origin, limits: &Limits) -> Vec<Throttle> {
    attempts::throttles("reset", Some(Person::Address(email)), origin, limits)
}

/// Sends a password reset email if `email` has an account; answers the same either way.
pub async fn request_password_reset(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    email: Email,
    pacing: &ResetRequests,
) -> Result<Reply, ApiError> {
    let answer_at = tokio::time::Instant::now() + pacing.answer_after;
    let db = &ctx.app.db;
    let throttles = reset_throttles(&email, ctx.origin, &pacing.limits);
    attempts::take(db, &throttles, ctx.now).await?;
    let address = email.normalized();
    if let Some(user_id) = db.emails().owner(&address).await? {
        send_reset_email(ctx, mailer, user_id, &address).await;
    }
    tokio::time::sleep_until(answer_at).await;
    Ok(Reply::default())
}

/// Issues a reset token for the account that holds `requested` (normalised) and emails it
/// to the address its record holds. A failure is the team's to know (a log line, and a
/// notification when the email fails) and never the caller's, whose answer would
/// otherwise tell that the address has an account.
async fn send_reset_email(ctx: &Ctx<'_>, mailer: &Mailer, user_id: i64, requested: &str) {
    let db = &ctx.app.db;
    let address = match db.users().account(user_id).await {
        Ok(Some(account)) => address_of(db, &account).await,
        Ok(None) => Ok(None),
        Err(error) => Err(error),
    };
    let address = match address {
        Ok(Some(address)) => address,
        Ok(None) => {
            tracing::error!(user_id, "an address's owner has no record with an address");
            return;
        }
        Err(error) => {
            tracing::error!(user_id, cause = %error, "the account's address not read");
            return;
        }
    };
    let token = tokens::generate(TokenKind::PasswordReset);
    let hash = tokens::hash(&token);
    match issue(db, user_id, requested, &hash, ctx.now).await {
        Ok(true) => {}
        Ok(false) => {
            // The address moved meanwhile: nothing was stored, and nothing is sent.
            tracing::info!(
                user_id,
                "the address moved before its reset token was stored"
            );
            return;
        }
        Err(error) => {
            tracing::error!(user_id, cause = %error, "password reset token not stored");
            return;
        }
    }
    let Err(error) = mailer
        .send_password_reset(&address, &token, LIFETIME / 60)
        .await
    else {
        metrics::count(Metric::EmailsSent);
        return;
    };
    tracing::error!(user_id, cause = %error, "password reset email not sent");
    let refused = RefusedEmail {
        subject: &format!("user:{user_id}"),
        to: &address,
        // Not sent again: its token exists only as a hash, and lapses in half an hour.
        email: FailedEmail::PasswordReset,
        error: &error.to_string(),
    };
    record_refused_email(ctx.app, &refused, ctx.now, None).await;
}

/// Stores a new reset token for a user, as their newest (an older one no longer resets),
/// in one transaction that holds while the user still holds the `requested` address: an
/// address move in between would otherwise leave a working link on its way to the old
/// address, after the move has ended the tokens issued before it. `false`: the address
/// is no longer theirs, and nothing was stored.
async fn issue(
    db: &Db,
    user_id: i64,
    requested: &str,
    token_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let mut steps = Steps::default();
    steps
        .push(
            Step::Record,
            db.password_resets().put_step(user_id, token_hash, now)?,
        )
        .push(
            Step::Account,
            db.users().hold_reset_token(user_id, token_hash)?,
        )
        .push(Step::EmailClaim, db.emails().held_by(requested, user_id)?);
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => Ok(true),
        Outcome::Refused {
            step: Step::EmailClaim,
            ..
        } => Ok(false),
        Outcome::Conflict => Err(StoreError::Busy("issuing a password reset token")),
        refused => Err(StoreError::Malformed(format!(
            "issuing a reset token for user {user_id} was refused ({refused:?})"
        ))),
    }
}

/// Sets a new password with a reset token, ends every session of its user and tells the
/// owner.
pub async fn reset_password(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    reset_token: String,
    new_password: String,
) -> Result<Reply, ApiError> {
    let refused = || {
        ApiError::invalid(
            "reset_token",
            "is unknown, used or expired: ask for a new password reset email",
        )
    };
    if TokenKind::of(&reset_token) != Some(TokenKind::PasswordReset) {
        return Err(refused());
    }
    let hash = tokens::hash(&reset_token);
    let db = &ctx.app.db;
    let resets = db.password_resets();
    let user_id = resets.user_of(&hash, ctx.now).await?.ok_or_else(refused)?;
    let account = db.users().account(user_id).await?.ok_or_else(refused)?;
    let address = address_of(db, &account).await?;
    let policy_address = address.as_deref().unwrap_or_default();
    let new_hash = passwords::accept_new("new_password", new_password, policy_address).await?;
    // That the password changed, never what to, nor the token.
    let audit = ctx
        .audit(AuditAction::PasswordReset, user_id, RecordKind::User)
        .with_secret_changed("password");
    // The token is used up and the password set in one transaction: on condition that the
    // token is still there and live, and still the account's newest.
    let mut steps = Steps::default();
    let proof = PasswordProof::ResetToken(&hash);
    steps
        .push(Step::Record, resets.redeem_step(&hash, ctx.now)?)
        .push(
            Step::Account,
            db.users().set_password(user_id, proof, &new_hash)?,
        )
        .push(Step::Audit, db.audit().put(&audit)?);
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => {}
        // Used, replaced or expired meanwhile: nothing was written.
        Outcome::Refused { .. } => return Err(refused()),
        Outcome::Conflict => return Err(StoreError::Busy("resetting a password").into()),
    }
    // The reset is written: its notice goes out whether or not the endings do.
    let ended = end_sessions(db, user_id, None).await;
    if let Some(to) = &address {
        let notice = Notice {
            user_id,
            to,
            notice: SecurityNotice::PasswordReset,
        };
        send_notices(ctx.app, mailer, &[notice], ctx.now).await;
    }
    let ended = ended?;
    Ok(Reply::data(json!({ "ended": ended })))
}
