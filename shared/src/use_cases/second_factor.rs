//! A signed-in user's TOTP: turning it on (a secret made and sealed, then confirmed with
//! a code from the app that holds it), turning it off, and replacing the recovery codes.
//!
//! Each asks for a recent proof of who the user is, as enrolling a passkey does; turning
//! TOTP off and replacing the codes ask for a code too (a TOTP code or a recovery code),
//! counted against the account's sign-in budget. A code's use is the condition of the
//! change's own transaction, with its audit record, so that a code works once whatever
//! route uses it; the owner is told of each change by a security notice.

use super::change_password::address_of;
use super::notices::{Notice, send_notices};
use super::passkeys::{CEREMONY, notify, recently_proven};
use super::sessions::refresh_sessions;
use crate::app::App;
use crate::attempts::{self, Person};
use crate::domain::{
    Account, AuditAction, AuditEntry, Ceremony, CeremonyKind, CodeCheck, CodeUse, FieldChange,
    Limits, RecordKind, SecondFactorCode, SecurityNotice, Starter, TOTP_CODE, Totp, TotpSecret,
    check_code, new_recovery_codes, recovery_code_hashes,
};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::metrics::{self, Metric};
use crate::pipeline::{Ctx, Reply};
use crate::secrets::SecretBox;
use crate::status::Status;
use crate::store::{Outcome, PRIORITY, Step, Steps, StoreError};
use crate::tokens::{self, TokenKind};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Codes one enrolment or one sign-in challenge may check before it ends.
pub const ATTEMPTS_PER_CHALLENGE: i64 = 5;

/// Starts turning TOTP on: a new secret, sealed under the KMS key for this account and
/// kept with the enrolment (bound to this session) until a code from it confirms it.
/// The answer is the only place the secret ever appears.
pub async fn start_totp_enrolment(ctx: &Ctx<'_>, secrets: &SecretBox) -> Result<Reply, ApiError> {
    let (session, account) = recently_proven(ctx).await?;
    if account.totp.is_some() {
        return Err(totp_on_already());
    }
    let db = &ctx.app.db;
    let secret = TotpSecret::generate();
    let sealed = secrets.seal(account.id, &secret).await?;
    let ceremony = Ceremony::start(
        CeremonyKind::TotpEnrolment,
        &Starter::Session(session.id.clone()),
        STANDARD.encode(&sealed),
        Some(account.id),
        None,
        ctx.now,
    );
    let id = start_challenge(db, &ceremony).await?;
    let label = address_of(db, &account)
        .await?
        .unwrap_or_else(|| format!("account {}", account.id));
    Ok(Reply::data(json!({
        "ceremony": id,
        "secret": secret.base32(),
        "otpauth_uri": secret.otpauth_uri(&label),
    })))
}

/// Turns TOTP on with the enrolment `ceremony` started, once `code` is the secret's code
/// now (and it counts as used). The answer holds the recovery codes, shown this once.
pub async fn confirm_totp(
    ctx: &Ctx<'_>,
    secrets: &SecretBox,
    mailer: &Mailer,
    ceremony: &str,
    code: &str,
) -> Result<Reply, ApiError> {
    let (session, account) = recently_proven(ctx).await?;
    let db = &ctx.app.db;
    let starter = Starter::Session(session.id.clone());
    let hash = challenge_hash(ceremony).ok_or_else(unknown_enrolment)?;
    let (enrolment, attempts) = db
        .passkey_ceremonies()
        .attempt(
            &hash,
            CeremonyKind::TotpEnrolment,
            &starter.key(),
            ctx.now,
            ATTEMPTS_PER_CHALLENGE,
        )
        .await?
        .filter(|(enrolment, _)| enrolment.user_id == Some(account.id))
        .ok_or_else(unknown_enrolment)?;
    let sealed = STANDARD
        .decode(&enrolment.state)
        .map_err(|_| StoreError::Malformed("a TOTP enrolment's secret is not base64".into()))?;
    let secret = secrets.open(account.id, &sealed).await?;
    let Some(step) = secret.accepts(code, ctx.now, None) else {
        if attempts >= ATTEMPTS_PER_CHALLENGE {
            db.passkey_ceremonies().end(&hash).await?;
        }
        return Err(ApiError::invalid(
            TOTP_CODE,
            "is not the code the authenticator app shows for this secret now",
        ));
    };
    let codes = new_recovery_codes();
    let totp = Totp {
        sealed_secret: sealed,
        last_step: step,
        enabled_at: ctx.now,
        recovery_codes: recovery_code_hashes(&codes),
    };
    let audit = ctx
        .audit(AuditAction::TotpEnabled, account.id, RecordKind::User)
        .with_changes(totp_change(false, true));
    let mut steps = Steps::default();
    steps
        .push(
            Step::SecondFactor,
            db.second_factors().enable_totp_step(account.id, &totp)?,
        )
        .push(Step::Ceremony, db.passkey_ceremonies().use_step(&hash)?)
        .push(Step::Audit, db.audit().put(&audit)?);
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => {}
        Outcome::Refused {
            step: Step::SecondFactor,
            ..
        } => return Err(totp_on_already()),
        Outcome::Refused { .. } => return Err(unknown_enrolment()),
        Outcome::Conflict => return Err(StoreError::Busy("turning TOTP on").into()),
    }
    lift_enrolment_requirement(ctx, &account).await;
    notify(ctx, mailer, &account, SecurityNotice::TotpEnabled).await;
    Ok(Reply::data(json!({ "recovery_codes": codes })))
}

/// Turns TOTP off (its recovery codes with it), with a code of the account's: not while
/// a role of the account requires a second factor and TOTP is its only one.
pub async fn disable_totp(
    ctx: &Ctx<'_>,
    secrets: &SecretBox,
    mailer: &Mailer,
    code: &SecondFactorCode,
    limits: &Limits,
) -> Result<Reply, ApiError> {
    let (_, account) = recently_proven(ctx).await?;
    let totp = totp_of(&account)?;
    let db = &ctx.app.db;
    let required = keep_a_required_second_factor(db, &account, "TOTP").await?;
    let used = prove_code(ctx, secrets, mailer, &account, totp, code, limits).await?;
    let audit = ctx
        .audit(AuditAction::TotpDisabled, account.id, RecordKind::User)
        .with_changes(totp_change(true, false));
    let mut steps = Steps::default();
    steps
        .push(
            Step::SecondFactor,
            db.second_factors().disable_totp_step(
                account.id,
                &totp.sealed_secret,
                Some(&used),
                required,
            )?,
        )
        .push(Step::Audit, db.audit().put(&audit)?);
    let kept = required.then_some("TOTP");
    write_with_code(ctx, mailer, &account, code, steps, "turning TOTP off", kept).await?;
    impose_enrolment_requirement(ctx, &account).await;
    notify(ctx, mailer, &account, SecurityNotice::TotpDisabled).await;
    Ok(Reply::data(json!({ "totp": false })))
}

/// Turns a user's TOTP off for the operator (the user lost the app and the recovery
/// codes, and proved who they are some other way): with `audit`, and told to the owner.
/// `false` if TOTP was off. Either way the user's sessions are brought up to date, so
/// that a repeat after a failure finishes the job.
pub async fn turn_off_totp_for_owner(
    app: &App,
    mailer: &Mailer,
    user_id: i64,
    audit: &AuditEntry,
) -> Result<bool, ApiError> {
    let db = &app.db;
    let Some(account) = db.users().account(user_id).await? else {
        return Err(ApiError::invalid("user", "is not a user's id"));
    };
    let turned_off = match &account.totp {
        Some(totp) => turn_off(app, mailer, &account, totp, audit).await?,
        None => false,
    };
    // A role may require the factor turned off: its sessions owe one from now on.
    refresh_sessions(app, user_id).await?;
    Ok(turned_off)
}

/// The operator's turning off of `totp`, the account's: `false` if it was turned off (or
/// off and on again) meanwhile.
async fn turn_off(
    app: &App,
    mailer: &Mailer,
    account: &Account,
    totp: &Totp,
    audit: &AuditEntry,
) -> Result<bool, ApiError> {
    let db = &app.db;
    let audit = AuditEntry {
        changes: totp_change(true, false),
        ..audit.clone()
    };
    let mut steps = Steps::default();
    steps
        .push(
            Step::SecondFactor,
            db.second_factors()
                .disable_totp_step(account.id, &totp.sealed_secret, None, false)?,
        )
        .push(Step::Audit, db.audit().put(&audit)?);
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => {}
        // The owner's own doing.
        Outcome::Refused { .. } => return Ok(false),
        Outcome::Conflict => return Err(StoreError::Busy("turning TOTP off").into()),
    }
    match address_of(db, account).await {
        Ok(Some(to)) => {
            let notice = Notice {
                user_id: account.id,
                to: &to,
                notice: SecurityNotice::TotpDisabled,
            };
            send_notices(app, mailer, &[notice], app.clock.now()).await;
        }
        Ok(None) => {}
        // TOTP is off: that stands, and is what the operator is told.
        Err(error) => tracing::error!(user_id = account.id, cause = %error, "no address to notify"),
    }
    Ok(true)
}

/// Replaces the account's recovery codes with a new set, with a code of the account's.
/// The answer holds the new codes, shown this once.
pub async fn regenerate_recovery_codes(
    ctx: &Ctx<'_>,
    secrets: &SecretBox,
    mailer: &Mailer,
    code: &SecondFactorCode,
    limits: &Limits,
) -> Result<Reply, ApiError> {
    let (_, account) = recently_proven(ctx).await?;
    let totp = totp_of(&account)?;
    let db = &ctx.app.db;
    let used = prove_code(ctx, secrets, mailer, &account, totp, code, limits).await?;
    let codes = new_recovery_codes();
    let audit = ctx.audit(
        AuditAction::RecoveryCodesRegenerated,
        account.id,
        RecordKind::User,
    );
    let mut steps = Steps::default();
    steps
        .push(
            Step::SecondFactor,
            db.second_factors().replace_recovery_codes_step(
                account.id,
                &totp.sealed_secret,
                &used,
                &recovery_code_hashes(&codes),
            )?,
        )
        .push(Step::Audit, db.audit().put(&audit)?);
    write_with_code(
        ctx,
        mailer,
        &account,
        code,
        steps,
        "replacing recovery codes",
        None,
    )
    .await?;
    notify(
        ctx,
        mailer,
        &account,
        SecurityNotice::RecoveryCodesRegenerated,
    )
    .await;
    Ok(Reply::data(json!({ "recovery_codes": codes })))
}

/// Runs a change whose [`Step::SecondFactor`] uses the code that asked for it; refused
/// there, the code was used meanwhile (or TOTP changed), or, for a removal that must
/// `keep` a required second factor, the account's other one went meanwhile. Once
/// written, a recovery code's use is told to the owner.
async fn write_with_code(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    account: &Account,
    code: &SecondFactorCode,
    steps: Steps,
    what: &'static str,
    keep: Option<&str>,
) -> Result<(), ApiError> {
    let db = &ctx.app.db;
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => {}
        Outcome::Refused { .. } => {
            if let Some(factor) = keep
                && left_without_second_factor(db, account.id).await?
            {
                return Err(last_second_factor(factor));
            }
            return Err(code_refused(ctx, mailer, account, code, CodeCheck::Reused).await);
        }
        Outcome::Conflict => return Err(StoreError::Busy(what).into()),
    }
    if let SecondFactorCode::RecoveryCode(_) = code {
        notify(ctx, mailer, account, SecurityNotice::RecoveryCodeUsed).await;
    }
    Ok(())
}

/// Checks `code` against the account's `totp`, once an attempt is taken from the
/// account's sign-in budget (a wrong code is a wrong sign-in; a right one gives it
/// back): the code's use, for the transaction it proves.
pub(super) async fn prove_code(
    ctx: &Ctx<'_>,
    secrets: &SecretBox,
    mailer: &Mailer,
    account: &Account,
    totp: &Totp,
    code: &SecondFactorCode,
    limits: &Limits,
) -> Result<CodeUse, ApiError> {
    let db = &ctx.app.db;
    let throttles = attempts::password_throttles(Person::Account(account.id), ctx.origin, limits);
    attempts::take(db, &throttles, ctx.now).await?;
    match checked(ctx, secrets, account.id, totp, code).await? {
        CodeCheck::Accepted(used) => {
            attempts::give_back(db, &throttles, ctx.now).await;
            Ok(used)
        }
        refused => Err(code_refused(ctx, mailer, account, code, refused).await),
    }
}

/// What `code` is to the account's `totp` now: the secret is opened (KMS) for a TOTP
/// code only.
pub(super) async fn checked(
    ctx: &Ctx<'_>,
    secrets: &SecretBox,
    user_id: i64,
    totp: &Totp,
    code: &SecondFactorCode,
) -> Result<CodeCheck, ApiError> {
    let secret = match code {
        SecondFactorCode::Totp(_) => Some(secrets.open(user_id, &totp.sealed_secret).await?),
        SecondFactorCode::RecoveryCode(_) => None,
    };
    Ok(check_code(totp, secret.as_ref(), code, ctx.now))
}

/// The answer to a code that was not accepted. A TOTP code used before (its step, or a
/// racing request's use of it) is logged, counted and told to the owner: whoever sent it
/// may have seen it, and knew the password or held a session.
pub(super) async fn code_refused(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    account: &Account,
    code: &SecondFactorCode,
    check: CodeCheck,
) -> ApiError {
    metrics::count(Metric::SignInFailures);
    match (code, check) {
        (SecondFactorCode::Totp(_), CodeCheck::Reused) => {
            metrics::count(Metric::TotpCodeReuses);
            tracing::warn!(user_id = account.id, "a TOTP code used before: refused");
            notify(ctx, mailer, account, SecurityNotice::TotpCodeReused).await;
            ApiError::invalid(TOTP_CODE, "was used already: wait for the next one")
        }
        (SecondFactorCode::Totp(_), _) => ApiError::invalid(
            TOTP_CODE,
            "is not the code the account's authenticator app shows now",
        ),
        (SecondFactorCode::RecoveryCode(_), _) => ApiError::invalid(
            code.param(),
            "is not one of the account's unused recovery codes",
        ),
    }
}

/// The account's TOTP, which the route needs on.
fn totp_of(account: &Account) -> Result<&Totp, ApiError> {
    account.totp.as_ref().ok_or_else(|| {
        ApiError::reject_because(
            Status::PermissionDenied,
            "TOTP is not on for this account: turn it on with users/totp_enroll.",
        )
    })
}

/// Refuses to remove `what`, a second factor of the account, if it is the account's only
/// one and a role of the account requires one. Whether a role requires one: the removal's
/// write then holds on condition that another is left, so that removals racing each
/// other cannot take the last.
pub(super) async fn keep_a_required_second_factor(
    db: &crate::store::Db,
    account: &Account,
    what: &str,
) -> Result<bool, ApiError> {
    let required = db
        .roles()
        .held(&account.roles)
        .await?
        .second_factor_required;
    if required && account.second_factors() == 1 {
        return Err(last_second_factor(what));
    }
    Ok(required)
}

/// Whether a removal a role's second factor refused was refused for that: the account,
/// as it is now, has one second factor at most.
pub(super) async fn left_without_second_factor(
    db: &crate::store::Db,
    user_id: i64,
) -> Result<bool, StoreError> {
    let account = db.users().account(user_id).await?;
    Ok(account.is_some_and(|account| account.second_factors() <= 1))
}

pub(super) fn last_second_factor(what: &str) -> ApiError {
    ApiError::reject_because(
        Status::PermissionDenied,
        format!(
            "A role of this account requires a second factor, and {what} is its only one: \
             add another (TOTP or a passkey) first."
        ),
    )
}

/// Once a user who owed a second factor has one, their sessions no longer owe it. The
/// factor is on already: a failure here is logged, and the sessions catch up at the
/// next refresh of their grants or sign-in.
pub(super) async fn lift_enrolment_requirement(ctx: &Ctx<'_>, account: &Account) {
    let owed = ctx
        .caller
        .session()
        .is_some_and(|session| session.second_factor_enrolment_required);
    if !owed {
        return;
    }
    if let Err(error) = refresh_sessions(ctx.app, account.id).await {
        tracing::error!(user_id = account.id, cause = %error, "sessions still owe a second factor");
    }
}

/// After a removal of the account's last second factor, which no role required as it
/// was read: a role granted, or made to require one, since then still finds the user's
/// sessions owing one (its own refresh may have read the account before the removal).
pub(super) async fn impose_enrolment_requirement(ctx: &Ctx<'_>, account: &Account) {
    if account.second_factors() != 1 {
        return;
    }
    if let Err(error) = refresh_sessions(ctx.app, account.id).await {
        tracing::error!(user_id = account.id, cause = %error, "sessions not yet told the second factor went");
    }
}

/// Stores a challenge (a second-factor sign-in's, a TOTP enrolment's) under a new id,
/// which only the caller gets.
pub(super) async fn start_challenge(
    db: &crate::store::Db,
    ceremony: &Ceremony,
) -> Result<String, StoreError> {
    let id = tokens::generate(TokenKind::Challenge);
    db.passkey_ceremonies()
        .put(&tokens::hash(&id), ceremony)
        .await?;
    Ok(id)
}

/// The hash a challenge's id is stored by; `None` for text that cannot be one.
pub(super) fn challenge_hash(id: &str) -> Option<String> {
    (TokenKind::of(id) == Some(TokenKind::Challenge)).then(|| tokens::hash(id))
}

fn unknown_enrolment() -> ApiError {
    ApiError::invalid(
        CEREMONY,
        "is not a TOTP enrolment this session started, or it was used, has expired or had \
         too many wrong codes: start again",
    )
}

fn totp_on_already() -> ApiError {
    ApiError::reject_because(
        Status::PermissionDenied,
        "TOTP is on for this account already: turn it off first to use another secret.",
    )
}

fn totp_change(old: bool, new: bool) -> BTreeMap<String, FieldChange> {
    BTreeMap::from([(
        "totp".to_owned(),
        FieldChange {
            old: Some(Value::Bool(old)),
            new: Some(Value::Bool(new)),
        },
    )])
}
