//! Signing in with a second factor: a right password for an account with TOTP answers
//! `second-factor-required` with a challenge (bound to the application's server that
//! signed in, 5 minutes, [`ATTEMPTS_PER_CHALLENGE`] codes), and `sessions/second_factor`
//! with the challenge and a code opens the session exactly as `sessions/create` would.
//!
//! The challenge is stored by its id's hash and keeps what the sign-in knew: the session
//! asked for (`remember_me`), a password change owed (a breached password), and which
//! password was proved (a change since ends the challenge). A code's use and the
//! challenge's are conditions of the session's own transaction, so that of requests
//! racing with one code (or one challenge), one opens a session.

use super::passkey_sign_in::starter;
use super::second_factor::{
    ATTEMPTS_PER_CHALLENGE, challenge_hash, checked, code_refused, start_challenge,
};
use super::sessions::{new_session, write_opened_with};
use super::sign_in::shown_with_token;
use crate::attempts::{self, Person};
use crate::domain::{
    Account, AuditAction, Ceremony, CeremonyKind, CodeCheck, FieldChange, Limits, Method,
    RecordKind, Refusal, SecondFactorCode, SecurityNotice,
};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::pipeline::{Ctx, Reply};
use crate::secrets::SecretBox;
use crate::status::Status;
use crate::store::{Step, StoreError};
use crate::tokens;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The parameter that carries a sign-in's challenge.
pub const CHALLENGE: &str = "challenge";

/// What a sign-in's challenge keeps of it.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    remember_me: bool,
    /// The password was right but breached: the session owes a change.
    password_change_required: bool,
    /// The hash of the account's password hash as the sign-in verified it.
    password: String,
}

/// The answer to a right password for an account with a second factor: no session, a
/// challenge for `sessions/second_factor`, and the methods that answer it.
pub(super) async fn challenge(
    ctx: &Ctx<'_>,
    account: &Account,
    remember_me: bool,
    password_change_required: bool,
) -> Result<ApiError, ApiError> {
    let pending = Pending {
        remember_me,
        password_change_required,
        password: proved_password(account),
    };
    let state = serde_json::to_string(&pending).map_err(ApiError::crash)?;
    let ceremony = Ceremony::start(
        CeremonyKind::SecondFactor,
        &starter(ctx)?,
        state,
        Some(account.id),
        None,
        ctx.now,
    );
    let id = start_challenge(&ctx.app.db, &ceremony).await?;
    let mut methods = vec!["totp", "recovery_code"];
    if account.passkeys > 0 {
        methods.push("passkey");
    }
    Ok(ApiError::Partial {
        status: Status::SecondFactorRequired,
        data: json!({ "challenge": id, "methods": methods }),
    })
}

/// The answer to a right password for an account whose role requires a second factor and
/// whose only ones are passkeys: no session, and no challenge (no code answers it), but
/// the method that signs in.
pub(super) fn passkey_required() -> ApiError {
    ApiError::Partial {
        status: Status::SecondFactorRequired,
        data: json!({ "methods": ["passkey"] }),
    }
}

/// Finishes a sign-in with its second factor: the session, as `sessions/create` answers
/// one. The challenge takes an attempt first, then the account's sign-in budget; a wrong
/// code keeps both, and the last attempt's ends the challenge.
pub async fn finish_second_factor_sign_in(
    ctx: &Ctx<'_>,
    secrets: &SecretBox,
    mailer: &Mailer,
    challenge: &str,
    code: &SecondFactorCode,
    limits: &Limits,
) -> Result<Reply, ApiError> {
    let db = &ctx.app.db;
    let ceremonies = db.passkey_ceremonies();
    let hash = challenge_hash(challenge).ok_or_else(unknown_challenge)?;
    let (ceremony, attempts) = ceremonies
        .attempt(
            &hash,
            CeremonyKind::SecondFactor,
            &starter(ctx)?.key(),
            ctx.now,
            ATTEMPTS_PER_CHALLENGE,
        )
        .await?
        .ok_or_else(unknown_challenge)?;
    let pending: Pending = serde_json::from_str(&ceremony.state)
        .map_err(|_| StoreError::Malformed("a second-factor challenge's state".into()))?;
    let user_id = ceremony
        .user_id
        .ok_or_else(|| StoreError::Malformed("a second-factor challenge without a user".into()))?;
    let throttles = attempts::password_throttles(Person::Account(user_id), ctx.origin, limits);
    attempts::take(db, &throttles, ctx.now).await?;
    // The password changed, or TOTP was turned off, since the sign-in: sign in again.
    let account = db.users().account(user_id).await?;
    let Some((account, totp)) = account
        .filter(|account| proved_password(account) == pending.password)
        .and_then(|account| account.totp.clone().map(|totp| (account, totp)))
    else {
        ceremonies.end(&hash).await?;
        return Err(unknown_challenge());
    };
    let used = match checked(ctx, secrets, user_id, &totp, code).await? {
        CodeCheck::Accepted(used) => used,
        refused => {
            if attempts >= ATTEMPTS_PER_CHALLENGE {
                ceremonies.end(&hash).await?;
            }
            return Err(code_refused(ctx, mailer, &account, code, refused).await);
        }
    };
    let mut grants = super::grants_of(db, &account).await?;
    grants.password_change_required |= pending.password_change_required;
    let (method, name) = match code {
        SecondFactorCode::Totp(_) => (Method::PasswordAndTotp, "totp"),
        SecondFactorCode::RecoveryCode(_) => (Method::PasswordAndRecoveryCode, "recovery_code"),
    };
    let (token, session) = new_session(
        Some(&grants),
        method,
        ctx.application,
        pending.remember_me,
        ctx.now,
    );
    let audit = ctx
        .audit(
            AuditAction::SignedInWithSecondFactor,
            account.id,
            RecordKind::User,
        )
        .with_changes(BTreeMap::from([(
            "method".to_owned(),
            FieldChange {
                old: None,
                new: Some(Value::from(name)),
            },
        )]));
    let code_use = db.second_factors().use_code_step(
        account.id,
        &totp.sealed_secret,
        &used,
        account.password_hash.as_deref(),
    )?;
    let also = vec![
        (Step::SecondFactor, code_use),
        (Step::Ceremony, ceremonies.use_step(&hash)?),
        (Step::Audit, db.audit().put(&audit)?),
    ];
    // No code to prove again: a repeat comes from the same server with the same key.
    let claim = super::claim_step(ctx, None, None, Some(&session.token_hash))?;
    match write_opened_with(db, &session, Some(&account), claim, also).await? {
        Ok(()) => {}
        // The code's use also checked the password: a change since ends the challenge.
        Err(Refusal::CodeUsed) if password_changed(db, &account).await? => {
            return Err(unknown_challenge());
        }
        Err(Refusal::CodeUsed) => {
            return Err(code_refused(ctx, mailer, &account, code, CodeCheck::Reused).await);
        }
        Err(Refusal::PasswordChanged) => return Err(unknown_challenge()),
        Err(refusal) => return Err(refusal.into()),
    }
    attempts::give_back(db, &throttles, ctx.now).await;
    if let SecondFactorCode::RecoveryCode(_) = code {
        super::passkeys::notify(ctx, mailer, &account, SecurityNotice::RecoveryCodeUsed).await;
    }
    Ok(Reply::session(shown_with_token(
        &session,
        token,
        ctx.session_view,
    )))
}

/// Whether the account's password is no longer the one `then` held.
async fn password_changed(db: &crate::store::Db, then: &Account) -> Result<bool, StoreError> {
    let now = db.users().account(then.id).await?;
    Ok(now.is_none_or(|now| now.password_hash != then.password_hash))
}

/// What a challenge keeps of the password a sign-in proved: a hash of its hash.
fn proved_password(account: &Account) -> String {
    tokens::hash(account.password_hash.as_deref().unwrap_or_default())
}

fn unknown_challenge() -> ApiError {
    ApiError::invalid(
        CHALLENGE,
        "is not a challenge this server was given, or it was used, has expired or had too \
         many wrong codes: sign in again",
    )
}
