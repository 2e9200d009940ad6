//! A signed-in user's passkeys: enrolling one (a ceremony started, then finished with the
//! authenticator's answer), listing them, removing one.
//!
//! Adding or removing a way to sign in asks for a recent proof of who the user is (a
//! session opened, or its password proved, within 15 minutes), is recorded in the audit
//! trail in the change's own transaction, and is told to the owner by a security notice.
//! The account's item counts its passkeys in that transaction too, so that no burst of
//! requests passes the limit of ten, or removes the last way in of an account without a
//! password.

use super::change_password::address_of;
use super::notices::{Notice, send_notices};
use crate::clock::rfc3339;
use crate::domain::{
    Account, AuditAction, Ceremony, CeremonyKind, FieldChange, MAX_PASSKEYS, Passkey, RecordKind,
    SecurityNotice, Session, Starter, may_add_passkey,
};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::passkeys::{Rejected, RelyingParty, new_user_handle};
use crate::pipeline::{Ctx, Reply};
use crate::status::Status;
use crate::store::{Db, Outcome, PRIORITY, Step, Steps, StoreError};
use crate::tokens::{self, TokenKind};
use crate::view::{Show, View};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The parameter that names a ceremony, and the one that carries the authenticator's
/// answer.
pub const CEREMONY: &str = "ceremony";
pub const CREDENTIAL: &str = "credential";

/// Starts enrolling a passkey for the caller's account: the options for the browser and
/// the ceremony that its finish names, bound to this session.
pub async fn start_passkey_registration(
    ctx: &Ctx<'_>,
    party: &RelyingParty,
    name: Option<String>,
) -> Result<Reply, ApiError> {
    let (session, account) = recently_proven(ctx).await?;
    if !may_add_passkey(account.passkeys) {
        return Err(ApiError::reject_because(
            Status::PermissionDenied,
            format!(
                "This account has {MAX_PASSKEYS} passkeys, the most it may have: remove one \
                 with passkeys/delete before adding another."
            ),
        ));
    }
    let db = &ctx.app.db;
    let handle = match &account.passkey_handle {
        Some(handle) => handle.clone(),
        None => db
            .users()
            .passkey_handle(account.id, &new_user_handle().to_string())
            .await?
            .ok_or_else(|| ApiError::reject(Status::InvalidToken))?,
    };
    let handle = handle
        .parse()
        .map_err(|_| StoreError::Malformed(format!("user {} has a bad handle", account.id)))?;
    let registered: Vec<String> = db
        .passkeys()
        .of_user(account.id)
        .await?
        .into_iter()
        .map(|passkey| passkey.id)
        .collect();
    let user_name = address_of(db, &account)
        .await?
        .unwrap_or_else(|| format!("PlanoAuth account {}", account.id));
    let (options, state) = party
        .start_registration(handle, &user_name, &user_name, &registered)
        .map_err(ApiError::crash)?;
    let ceremony = Ceremony::start(
        CeremonyKind::Registration,
        &Starter::Session(session.id.clone()),
        state,
        Some(account.id),
        name,
        ctx.now,
    );
    let id = start(db, &ceremony).await?;
    Ok(Reply::data(json!({ "ceremony": id, "options": options })))
}

/// Finishes enrolling a passkey: verifies the authenticator's answer against the
/// ceremony this session started, and stores the passkey with the account's count, the
/// audit record and (with a key) the idempotency claim, in one transaction.
pub async fn finish_passkey_registration(
    ctx: &Ctx<'_>,
    party: &RelyingParty,
    mailer: &Mailer,
    ceremony: &str,
    credential: &Value,
) -> Result<Reply, ApiError> {
    let (session, account) = recently_proven(ctx).await?;
    let db = &ctx.app.db;
    let starter = Starter::Session(session.id.clone());
    let ceremony = take(db, ceremony, CeremonyKind::Registration, &starter, ctx.now).await?;
    if ceremony.user_id != Some(account.id) {
        return Err(unknown_ceremony());
    }
    let registered = party
        .finish_registration(credential, &ceremony.state)
        .map_err(rejected)?;
    let handle = account
        .passkey_handle
        .as_deref()
        .ok_or_else(|| StoreError::Malformed("a passkey registered without a handle".into()))?;
    let day = rfc3339(ctx.now);
    let passkey = Passkey {
        id: registered.id,
        user_id: account.id,
        name: ceremony
            .name
            .unwrap_or_else(|| Passkey::default_name(&day[..10.min(day.len())])),
        created_at: ctx.now,
        last_used_at: None,
        backed_up: registered.backed_up,
        counter: registered.counter,
        key: registered.key,
    };
    let data = passkey.show(View::Default);
    let audit = ctx
        .audit(AuditAction::PasskeyAdded, account.id, RecordKind::User)
        .with_changes(passkey_change(&passkey.id, true));
    let mut steps = Steps::default();
    steps
        .push(Step::Passkey, db.passkeys().add_step(&passkey)?)
        .push(
            Step::Account,
            db.users()
                .add_passkey_step(account.id, handle, MAX_PASSKEYS)?,
        )
        .push(Step::Audit, db.audit().put(&audit)?)
        .push_some(
            Step::IdempotencyKey,
            super::claim_step(ctx, Some(&data), None, None)?,
        );
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => {}
        Outcome::Refused {
            step: Step::IdempotencyKey,
            ..
        } => return Err(ApiError::KeyClaimed),
        Outcome::Refused {
            step: Step::Passkey,
            ..
        } => {
            return Err(ApiError::invalid(
                CREDENTIAL,
                "is a passkey this service knows already",
            ));
        }
        // Another enrolment took the last place meanwhile.
        Outcome::Refused { .. } => {
            return Err(ApiError::reject_because(
                Status::PermissionDenied,
                format!("This account has {MAX_PASSKEYS} passkeys, the most it may have."),
            ));
        }
        Outcome::Conflict => return Err(StoreError::Busy("adding a passkey").into()),
    }
    super::second_factor::lift_enrolment_requirement(ctx, &account).await;
    notify(ctx, mailer, &account, SecurityNotice::PasskeyAdded).await;
    Ok(Reply::data(data))
}

/// The caller's passkeys, oldest first.
pub async fn list_passkeys(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let user_id = user_of(ctx)?;
    let passkeys = ctx.app.db.passkeys().of_user(user_id).await?;
    let shown: Vec<Value> = passkeys.iter().map(|p| p.show(View::Default)).collect();
    Ok(Reply::data(json!({ "passkeys": shown })))
}

/// Removes one of the caller's passkeys: never the account's last way to sign in.
pub async fn delete_passkey(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    passkey_id: &str,
) -> Result<Reply, ApiError> {
    let (_, account) = recently_proven(ctx).await?;
    let db = &ctx.app.db;
    // Another account's passkey is answered as an unknown one.
    let unknown = || ApiError::invalid("passkey_id", "is not a passkey of this account");
    let passkey = db
        .passkeys()
        .find(passkey_id)
        .await?
        .filter(|passkey| passkey.user_id == account.id)
        .ok_or_else(unknown)?;
    let required =
        super::second_factor::keep_a_required_second_factor(db, &account, "this passkey").await?;
    let audit = ctx
        .audit(AuditAction::PasskeyRemoved, account.id, RecordKind::User)
        .with_changes(passkey_change(&passkey.id, false));
    let mut steps = Steps::default();
    steps
        .push(
            Step::Passkey,
            db.passkeys().remove_step(&passkey.id, account.id)?,
        )
        .push(
            Step::Account,
            db.users().remove_passkey_step(account.id, required)?,
        )
        .push(Step::Audit, db.audit().put(&audit)?);
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => {}
        Outcome::Refused {
            step: Step::Passkey,
            ..
        } => return Err(unknown()),
        // Another removal took the account's other second factor meanwhile.
        Outcome::Refused { .. }
            if required
                && super::second_factor::left_without_second_factor(db, account.id).await? =>
        {
            return Err(super::second_factor::last_second_factor("this passkey"));
        }
        Outcome::Refused { .. } => {
            return Err(ApiError::invalid(
                "passkey_id",
                "is this account's last way to sign in: it has no password, so its last \
                 passkey stays",
            ));
        }
        Outcome::Conflict => return Err(StoreError::Busy("removing a passkey").into()),
    }
    super::second_factor::impose_enrolment_requirement(ctx, &account).await;
    notify(ctx, mailer, &account, SecurityNotice::PasskeyRemoved).await;
    Ok(Reply::data(passkey.show(View::Default)))
}

/// Stores a ceremony that has just started; its id, which only the caller holds.
pub(super) async fn start(db: &Db, ceremony: &Ceremony) -> Result<String, StoreError> {
    let id = tokens::generate(TokenKind::Ceremony);
    db.passkey_ceremonies()
        .put(&tokens::hash(&id), ceremony)
        .await?;
    Ok(id)
}

/// Takes (uses up) the ceremony `id` names, if it is a `kind` one `starter` began and
/// has not expired; otherwise `invalid-param` naming `ceremony`, and nothing changes.
pub(super) async fn take(
    db: &Db,
    id: &str,
    kind: CeremonyKind,
    starter: &Starter,
    now: i64,
) -> Result<Ceremony, ApiError> {
    if TokenKind::of(id) != Some(TokenKind::Ceremony) {
        return Err(unknown_ceremony());
    }
    db.passkey_ceremonies()
        .take(&tokens::hash(id), kind, &starter.key(), now)
        .await?
        .ok_or_else(unknown_ceremony)
}

pub(super) fn unknown_ceremony() -> ApiError {
    ApiError::invalid(
        CEREMONY,
        "is not a ceremony this caller started, or it was used or has expired: start again",
    )
}

/// An authenticator's answer that does not verify, as the caller is told.
pub(super) fn rejected(rejection: Rejected) -> ApiError {
    ApiError::invalid(CREDENTIAL, rejection.to_string())
}

/// Tells the account's owner, at the address on its record, of a change to its passkeys.
pub(super) async fn notify(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    account: &Account,
    notice: SecurityNotice,
) {
    match address_of(&ctx.app.db, account).await {
        Ok(Some(to)) => {
            let notice = Notice {
                user_id: account.id,
                to: &to,
                notice,
            };
            send_notices(ctx.app, mailer, &[notice], ctx.now).await;
        }
        // An account without a record has no address to tell.
        Ok(None) => {}
        Err(error) => {
            tracing::error!(user_id = account.id, cause = %error, "no address to notify");
        }
    }
}

/// The audit trail's record of a passkey added (`new`) or removed: its id, never its key.
fn passkey_change(id: &str, added: bool) -> BTreeMap<String, FieldChange> {
    let value = Some(Value::from(id));
    let change = match added {
        true => FieldChange {
            old: None,
            new: value,
        },
        false => FieldChange {
            old: value,
            new: None,
        },
    };
    BTreeMap::from([("passkey".to_owned(), change)])
}

fn user_of(ctx: &Ctx<'_>) -> Result<i64, ApiError> {
    ctx.caller
        .session()
        .and_then(|session| session.user_id)
        .ok_or_else(|| ApiError::crash("a passkey route called without a user's session"))
}

/// The caller's session and account, if the session's user proved who they are within
/// the last 15 minutes; `reauthentication-required` otherwise.
pub(super) async fn recently_proven<'a>(ctx: &Ctx<'a>) -> Result<(&'a Session, Account), ApiError> {
    let user_id = user_of(ctx)?;
    let session = ctx
        .caller
        .session()
        .ok_or_else(|| ApiError::crash("a passkey route called without a session"))?;
    if !session.recently_proven(ctx.now) {
        return Err(ApiError::reject(Status::ReauthenticationRequired));
    }
    let account = ctx
        .app
        .db
        .users()
        .account(user_id)
        .await?
        .ok_or_else(|| ApiError::reject(Status::InvalidToken))?;
    Ok((session, account))
}
