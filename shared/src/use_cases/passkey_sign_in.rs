//! Signing in with a passkey, through an application's server: a ceremony started (with
//! an address, or none for a usernameless sign-in), then finished with the
//! authenticator's answer, which opens a session exactly as a password does.
//!
//! A start that names an address answers alike whether or not the address has an account
//! or passkeys: the same reads, and for an address without passkeys made-up credential
//! ids that stay the same for it. A finish takes an attempt from the same limits as a
//! wrong password from the same source before anything is verified, and gives it back
//! once the passkey signs in; a failed assertion changes nothing else. A signature
//! counter that went backwards refuses the sign-in and tells the owner.

use super::passkeys::{CREDENTIAL, notify, rejected, start, take};
use super::sessions::{new_session, write_opened_with};
use super::sign_in::shown_with_token;
use crate::attempts;
use crate::authenticate::Caller;
use crate::domain::{
    AuditAction, CeremonyKind, Email, FieldChange, Limits, Method, Passkey, RecordKind, Refusal,
    SecurityNotice, Starter,
};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::metrics::{self, Metric};
use crate::passkeys::{Rejected, RelyingParty, decoy_credentials};
use crate::pipeline::{Ctx, Reply};
use crate::store::{Db, Step, StoreError};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Starts a passkey sign-in: for the account `email` names, offering its passkeys, or,
/// without one, for whichever passkey the authenticator offers.
pub async fn start_passkey_sign_in(
    ctx: &Ctx<'_>,
    party: &RelyingParty,
    email: Option<Email>,
) -> Result<Reply, ApiError> {
    let starter = starter(ctx)?;
    let db = &ctx.app.db;
    let (user_id, allow) = match &email {
        None => (None, Vec::new()),
        Some(email) => {
            let address = email.normalized();
            let owner = db.emails().owner(&address).await?;
            // Query for an address without an account too, so both cost the same.
            let passkeys = db.passkeys().of_user(owner.unwrap_or(0)).await?;
            let owner = owner.filter(|_| !passkeys.is_empty());
            let key = decoy_key(db, party).await?;
            let decoys = decoy_credentials(key, &address);
            match owner {
                Some(user_id) => (Some(user_id), passkeys.into_iter().map(|p| p.id).collect()),
                None => (None, decoys),
            }
        }
    };
    let (options, state) = party.start_sign_in(&allow).map_err(ApiError::crash)?;
    // A ceremony that named an address signs in only that account's passkeys; an
    // address without any names no account, and no passkey matches its made-up ids.
    let named = user_id.or(email.as_ref().map(|_| 0));
    let ceremony =
        crate::domain::Ceremony::start(CeremonyKind::SignIn, &starter, state, named, None, ctx.now);
    let id = start(db, &ceremony).await?;
    Ok(Reply::data(json!({ "ceremony": id, "options": options })))
}

/// Finishes a passkey sign-in: the session it opens, as `sessions/create` answers one.
pub async fn finish_passkey_sign_in(
    ctx: &Ctx<'_>,
    party: &RelyingParty,
    mailer: &Mailer,
    ceremony: &str,
    credential: &Value,
    remember_me: bool,
    limits: &Limits,
) -> Result<Reply, ApiError> {
    let starter = starter(ctx)?;
    let db = &ctx.app.db;
    // The same per-source budget as a password: a failed assertion is a failed sign-in.
    let throttles = attempts::throttles("password", None, ctx.origin, limits);
    attempts::take(db, &throttles, ctx.now).await?;
    let ceremony = take(db, ceremony, CeremonyKind::SignIn, &starter, ctx.now).await?;
    let failed = || {
        metrics::count(Metric::SignInFailures);
        ApiError::invalid(CREDENTIAL, "is not a passkey of this service's accounts")
    };
    let asserted = party.asserted(credential).map_err(rejected)?;
    let passkey = db.passkeys().find(&asserted.id).await?.ok_or_else(failed)?;
    if ceremony
        .user_id
        .is_some_and(|named| named != passkey.user_id)
    {
        return Err(failed());
    }
    let account = db
        .users()
        .account(passkey.user_id)
        .await?
        .ok_or_else(failed)?;
    let handle = account.passkey_handle.as_deref();
    if let Some(asserted) = asserted.user_handle
        && handle != Some(asserted.to_string().as_str())
    {
        return Err(failed());
    }
    let used = match party.finish_sign_in(credential, &ceremony.state, &passkey.key) {
        Ok(used) => used,
        Err(Rejected::CounterRegressed) => {
            return Err(counter_regressed(ctx, mailer, &account, &passkey).await);
        }
        Err(rejection) => {
            metrics::count(Metric::SignInFailures);
            return Err(rejected(rejection));
        }
    };
    let used = Passkey {
        key: used.key,
        counter: used.counter,
        backed_up: used.backed_up,
        last_used_at: Some(ctx.now),
        ..passkey
    };
    let grants = super::grants_of(db, &account).await?;
    let (token, session) = new_session(
        Some(&grants),
        Method::Passkey,
        ctx.application,
        remember_me,
        ctx.now,
    );
    let audit = ctx
        .audit(
            AuditAction::SignedInWithPasskey,
            account.id,
            RecordKind::User,
        )
        .with_changes(BTreeMap::from([(
            "passkey".to_owned(),
            FieldChange {
                old: None,
                new: Some(Value::from(used.id.as_str())),
            },
        )]));
    let also = vec![
        (Step::Passkey, db.passkeys().use_step(&used, ctx.now)?),
        (Step::Audit, db.audit().put(&audit)?),
    ];
    // No password to prove again: a repeat comes from the same server with the same key.
    let claim = super::claim_step(ctx, None, None, Some(&session.token_hash))?;
    match write_opened_with(db, &session, Some(&account), claim, also).await? {
        Ok(()) => {}
        Err(Refusal::PasskeyChanged) => return Err(raced(ctx, mailer, db, &account, &used).await),
        Err(refusal) => return Err(refusal.into()),
    }
    attempts::give_back(db, &throttles, ctx.now).await;
    Ok(Reply::session(shown_with_token(
        &session,
        token,
        ctx.session_view,
    )))
}

/// Whom a sign-in's ceremony or challenge is bound to: the application token that
/// starts it.
pub(super) fn starter(ctx: &Ctx<'_>) -> Result<Starter, ApiError> {
    match ctx.caller {
        Caller::Application(token) => Ok(Starter::Application(token.id.clone())),
        Caller::Session(_) => Err(ApiError::crash("a sign-in ceremony without a server")),
    }
}

/// The decoy key, read (or made, the first time) once per process.
async fn decoy_key<'a>(db: &Db, party: &'a RelyingParty) -> Result<&'a [u8], StoreError> {
    if let Some(key) = party.decoy_key() {
        return Ok(key);
    }
    let new: [u8; 32] = rand::random();
    let key = db.passkey_ceremonies().relying_party_key(&new).await?;
    Ok(party.keep_decoy_key(key))
}

/// A counter that went backwards: the sign-in is refused, logged, counted and told to
/// the owner; the passkey keeps working for assertions whose counter moves on.
async fn counter_regressed(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    account: &crate::domain::Account,
    passkey: &Passkey,
) -> ApiError {
    metrics::count(Metric::PasskeyCounterRegressions);
    tracing::warn!(
        user_id = account.id,
        passkey = passkey.id.as_str(),
        stored = passkey.counter,
        "a passkey's signature counter went backwards: refused"
    );
    notify(
        ctx,
        mailer,
        account,
        SecurityNotice::PasskeyCounterRegressed,
    )
    .await;
    rejected(Rejected::CounterRegressed)
}

/// A sign-in whose passkey was used again (or removed) before its session was written:
/// if the passkey's counter is now at or past this assertion's, another sign-in with a
/// later or equal counter got there first, which is a counter that did not increase.
async fn raced(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    db: &Db,
    account: &crate::domain::Account,
    used: &Passkey,
) -> ApiError {
    match db.passkeys().find(&used.id).await {
        Ok(Some(now)) if used.counter > 0 && now.counter >= used.counter => {
            counter_regressed(ctx, mailer, account, &now).await
        }
        Ok(_) => Refusal::PasskeyChanged.into(),
        Err(error) => error.into(),
    }
}
