//! Changing one's own password (`users/password_update`): the current password proves
//! it is the user (checked as a sign-in is, on the account's sign-in budget), the new one
//! meets the policy and differs from it. The password, the required change it clears and
//! the caller's session moving to a new token are one transaction; then every other
//! session of the user ends and the owner gets a security notice.

use super::notices::{Notice, send_notices};
use super::proof::prove_account_password;
use super::sessions::{end_sessions, push_rotation, successor_of};
use crate::domain::{Account, AuditAction, Limits, Profile, RecordKind, Refusal, SecurityNotice};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::passwords;
use crate::pipeline::{Ctx, Reply};
use crate::status::Status;
use crate::store::users::PasswordProof;
use crate::store::{Db, Outcome, PRIORITY, Step, Steps, StoreError};
use crate::use_cases::sign_in::shown_with_token;
use serde_json::json;

pub async fn change_password(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    current_password: String,
    new_password: String,
    limits: &Limits,
) -> Result<Reply, ApiError> {
    let session = ctx
        .caller
        .session()
        .ok_or_else(|| ApiError::crash("changing a password without a session"))?;
    let Some(user_id) = session.user_id else {
        return Err(ApiError::reject_because(
            Status::PermissionDenied,
            "A guest session has no password to change.",
        ));
    };
    let db = &ctx.app.db;
    let account = db
        .users()
        .account(user_id)
        .await?
        .ok_or_else(|| ApiError::reject(Status::InvalidToken))?;
    let Some(stored) = account.password_hash.as_deref() else {
        return Err(ApiError::invalid(
            "current_password",
            "the account has no password: ask for a password reset email instead",
        ));
    };
    let same = current_password == new_password;
    prove_account_password(
        ctx,
        user_id,
        stored,
        Some(current_password),
        "current_password",
        limits,
    )
    .await?;
    if same {
        return Err(ApiError::invalid(
            "new_password",
            "must differ from the current password",
        ));
    }
    let address = address_of(db, &account).await?;
    let policy_address = address.as_deref().unwrap_or_default();
    let new_hash = passwords::accept_new("new_password", new_password, policy_address).await?;
    let (token, successor) = successor_of(session, ctx.now);
    // That the password changed, never what to or from.
    let audit = ctx
        .audit(AuditAction::PasswordChanged, user_id, RecordKind::User)
        .with_secret_changed("password");
    let mut steps = Steps::default();
    let proof = PasswordProof::Current(stored);
    steps.push(
        Step::Account,
        db.users().set_password(user_id, proof, &new_hash)?,
    );
    push_rotation(db, &mut steps, session, &successor)?;
    steps.push(Step::Audit, db.audit().put(&audit)?);
    let refusal = match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => None,
        Outcome::Refused {
            step: Step::Account,
            ..
        } => Some(Refusal::PasswordChanged),
        Outcome::Refused {
            step: Step::EmployeeActive,
            ..
        } => Some(Refusal::Deactivated),
        Outcome::Refused { .. } => Some(Refusal::SessionChanged),
        Outcome::Conflict => return Err(StoreError::Busy("changing a password").into()),
    };
    if let Some(refusal) = refusal {
        return Err(refusal.into());
    }
    // The change is written: its notice goes out whether or not the endings do.
    let ended = end_sessions(db, user_id, Some(&successor.token_hash)).await;
    if let Some(to) = &address {
        let notice = Notice {
            user_id,
            to,
            notice: SecurityNotice::PasswordChanged,
        };
        send_notices(ctx.app, mailer, &[notice], ctx.now).await;
    }
    let ended = ended?;
    Ok(Reply {
        data: Some(json!({ "ended": ended })),
        session: Some(shown_with_token(&successor, token, ctx.session_view)),
    })
}

/// The email address of an account's record (an employee's, else a client's), which a
/// new password must not be.
pub(super) async fn address_of(db: &Db, account: &Account) -> Result<Option<String>, StoreError> {
    if account.profiles.contains(&Profile::Employee)
        && let Some(employee) = db.employees().find(account.id).await?
    {
        return Ok(Some(employee.email));
    }
    if account.profiles.contains(&Profile::Client)
        && let Some(client) = db.clients().find(account.id).await?
    {
        return Ok(Some(client.email));
    }
    Ok(None)
}
