//! The work on sessions that several use cases share: writing a new one with its listing
//! and the checks that let a deactivation or a password change win every race with it,
//! replacing one with its successor, ending them.
//!
//! Ending every session of a user, and refreshing their grants after a change of role,
//! find the sessions with a consistent Query of the account sessions listing. DynamoDB
//! isolates a Query from transactions only read-committed: it can miss a listing whose
//! transaction has been applied to the account but not yet to the listing; and a session
//! whose transaction comes after it, with grants read before the change, is not there to
//! find. Such a Query ran before the session's transaction returned, so after the change
//! that preceded it, which the strongly consistent reads made once the session is written
//! therefore see ([`confirm_opened`](crate::domain::confirm_opened)): either the Query
//! finds the session or those reads find the change.

use crate::app::App;
use crate::domain::{Account, Application, AuditEntry, Grants, Method, Profile, Refusal, Session};
use crate::error::ApiError;
use crate::store::sessions::ttl_of;
use crate::store::{Db, Outcome, PRIORITY, Step, Steps, StoreError};
use crate::tokens::{self, TokenKind};
use aws_sdk_dynamodb::types::TransactWriteItem;

/// Sessions one transaction ends, each its item and its listing: DynamoDB's 100 items,
/// less the audit record.
const ENDINGS_PER_TRANSACTION: usize = 49;

/// A new session for a user (with their grants, proved now by `method`) or a guest, and
/// its token: the only time the token exists outside the caller's hands.
pub fn new_session(
    grants: Option<&Grants>,
    method: Method,
    application: Application,
    remember_me: bool,
    now: i64,
) -> (String, Session) {
    let token = tokens::generate(TokenKind::Session);
    let session = Session::open(
        tokens::hash(&token),
        tokens::random_id(),
        grants,
        method,
        application,
        remember_me,
        now,
    );
    (token, session)
}

/// The caller's session under a new token, and the token.
pub(crate) fn successor_of(session: &Session, now: i64) -> (String, Session) {
    let token = tokens::generate(TokenKind::Session);
    (token.clone(), session.successor(tokens::hash(&token), now))
}

/// Opens a session without a sign-in (for the operator's tools and the tests): a user's
/// with `grants`, or a guest's.
pub async fn open_session_without_sign_in(
    app: &App,
    grants: Option<&Grants>,
    application: Application,
    remember_me: bool,
) -> Result<(String, Session), ApiError> {
    let now = app.clock.now();
    let (token, session) = new_session(grants, Method::Password, application, remember_me, now);
    write_opened(&app.db, &session, None, None).await??;
    Ok((token, session))
}

/// The steps that go with a user's new session (none for a guest's): the check that the
/// account exists (with its password still `proof`, if given) or, with `code_use`, the
/// second-factor code's use that checks it too; the session's listing and, for an
/// employee, the check that they are active, so that none opens after a deactivation.
pub(crate) fn push_opening(
    db: &Db,
    steps: &mut Steps,
    session: &Session,
    proof: Option<&str>,
    code_use: Option<TransactWriteItem>,
) -> Result<(), StoreError> {
    let Some(user_id) = session.user_id else {
        return Ok(());
    };
    match code_use {
        Some(code_use) => steps.push(Step::SecondFactor, code_use),
        None => steps.push(Step::Account, db.users().must_exist(user_id, proof)?),
    };
    let listing = db
        .account_sessions()
        .list_step(user_id, &session.token_hash, ttl_of(session))?;
    steps.push(Step::Session, listing);
    if session.profiles.contains(&Profile::Employee) {
        steps.push(
            Step::EmployeeActive,
            db.employees().must_be_active(user_id)?,
        );
    }
    Ok(())
}

/// Writes a new session: a guest's as one item; a user's in one transaction with its
/// listing and the checks of [`push_opening`] (with `signed_in`, the account as a sign-in
/// read it, that its password is still that one), and with `claim`, an idempotency key's.
/// Once written, it is checked again ([`confirm`]); refused then, it is ended and its
/// `claim` released, so that the refusal changed nothing. The inner result is the
/// refusal, for the caller to word.
pub async fn write_opened(
    db: &Db,
    session: &Session,
    signed_in: Option<&Account>,
    claim: Option<TransactWriteItem>,
) -> Result<Result<(), Refusal>, ApiError> {
    write_opened_with(db, session, signed_in, claim, Vec::new()).await
}

/// [`write_opened`] with more steps in the session's transaction (a passkey sign-in's
/// use of the passkey, a second factor's use of its code and its challenge, and their
/// audit record); a refused [`Step::Passkey`] is [`Refusal::PasskeyChanged`], a refused
/// [`Step::SecondFactor`] [`Refusal::CodeUsed`] (or the password changed: the code's use
/// stands for the account's check) and a refused [`Step::Ceremony`]
/// [`Refusal::CeremonyEnded`].
pub async fn write_opened_with(
    db: &Db,
    session: &Session,
    signed_in: Option<&Account>,
    claim: Option<TransactWriteItem>,
    mut also: Vec<(Step, TransactWriteItem)>,
) -> Result<Result<(), Refusal>, ApiError> {
    if session.user_id.is_none() && claim.is_none() && also.is_empty() {
        return match db.sessions().put_new(session).await? {
            true => Ok(Ok(())),
            false => Err(StoreError::Malformed("a session with this token exists".into()).into()),
        };
    }
    let proof = signed_in.and_then(|account| account.password_hash.as_deref());
    let mut steps = Steps::default();
    steps.push(Step::Record, db.sessions().put_step(session)?);
    let code_use = also
        .iter()
        .position(|(step, _)| *step == Step::SecondFactor)
        .map(|at| also.remove(at).1);
    push_opening(db, &mut steps, session, proof, code_use)?;
    for (step, item) in also {
        steps.push(step, item);
    }
    steps.push_some(Step::IdempotencyKey, claim.clone());
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => {}
        Outcome::Refused {
            step: Step::Passkey,
            ..
        } => return Ok(Err(Refusal::PasskeyChanged)),
        Outcome::Refused {
            step: Step::SecondFactor,
            ..
        } => return Ok(Err(Refusal::CodeUsed)),
        Outcome::Refused {
            step: Step::Ceremony,
            ..
        } => return Ok(Err(Refusal::CeremonyEnded)),
        Outcome::Refused {
            step: Step::IdempotencyKey,
            ..
        } => return Err(ApiError::KeyClaimed),
        Outcome::Refused {
            step: Step::EmployeeActive,
            ..
        } => return Ok(Err(Refusal::Deactivated)),
        Outcome::Refused {
            step: Step::Account,
            ..
        } => return Ok(Err(Refusal::PasswordChanged)),
        Outcome::Conflict => return Err(StoreError::Busy("opening a session").into()),
        refused => {
            return Err(StoreError::Malformed(format!(
                "opening a session was refused ({refused:?})"
            ))
            .into());
        }
    }
    if let Err(refusal) = confirm(db, session, signed_in).await? {
        end_session(db, &session.token_hash).await?;
        if let Some(claim) = &claim {
            db.idempotency().release(claim, &session.token_hash).await?;
        }
        return Ok(Err(refusal));
    }
    Ok(Ok(()))
}

/// Checks a user's session, once its transaction has returned, against the account and
/// the employee as they are now (see the module's documentation): strongly consistent
/// reads, made at once, of what [`confirm_opened`](crate::domain::confirm_opened) rules on.
pub(crate) async fn confirm(
    db: &Db,
    session: &Session,
    signed_in: Option<&Account>,
) -> Result<Result<(), Refusal>, StoreError> {
    let Some(user_id) = session.user_id else {
        return Ok(Ok(()));
    };
    let employee = session.profiles.contains(&Profile::Employee);
    if signed_in.is_none() && !employee {
        return Ok(Ok(()));
    }
    let (account, active) = futures_util::future::try_join(db.users().account(user_id), async {
        match employee {
            true => Ok(db.employees().find(user_id).await?.map(|e| e.active)),
            false => Ok(None),
        }
    })
    .await?;
    Ok(crate::domain::confirm_opened(
        employee,
        signed_in,
        account.as_ref(),
        active,
    ))
}

/// The steps that replace `session` with `new` (a new token for the same caller, once it
/// acts for someone else): the old one ends, on condition that it is still live and still
/// the same caller's, and the new one is written (for an employee, on condition that they
/// are still active), each listing with it. For the transaction that changes what the
/// caller is, which also writes the account.
pub(crate) fn push_rotation(
    db: &Db,
    steps: &mut Steps,
    session: &Session,
    new: &Session,
) -> Result<(), StoreError> {
    let (sessions, listings) = (db.sessions(), db.account_sessions());
    // The new session is last used now.
    let owner = Some(session.user_id);
    let end = sessions.end_step(&session.token_hash, new.last_used_at, owner)?;
    steps.push(Step::Session, end);
    steps.push(Step::Session, sessions.put_step(new)?);
    if let Some(user_id) = session.user_id {
        let unlist = listings.unlist_step(user_id, &session.token_hash)?;
        steps.push(Step::Session, unlist);
    }
    if let Some(user_id) = new.user_id {
        let list = listings.list_step(user_id, &new.token_hash, ttl_of(new))?;
        steps.push(Step::Session, list);
        if new.profiles.contains(&Profile::Employee) {
            steps.push(
                Step::EmployeeActive,
                db.employees().must_be_active(user_id)?,
            );
        }
    }
    Ok(())
}

/// Gives a live session a new token: the session stays what it is (its id, user, grants
/// and times), its old token stops working, and `also(new_hash)` (the idempotency key's
/// record following it) is written in the same transaction. `None` if the session has
/// ended or expired, or the employee was deactivated (checked in the transaction and
/// again after it, as [`confirm`] does).
pub(crate) async fn reissue(
    db: &Db,
    token_hash: &str,
    now: i64,
    also: impl FnOnce(&str) -> Result<TransactWriteItem, StoreError>,
) -> Result<Option<(String, Session)>, ApiError> {
    let sessions = db.sessions();
    let Some(item) = sessions.get(token_hash).await? else {
        return Ok(None);
    };
    let session = crate::store::sessions::session_from(&item)?;
    if !session.is_live(now) {
        return Ok(None);
    }
    let token = tokens::generate(TokenKind::Session);
    let reissued = Session {
        token_hash: tokens::hash(&token),
        ..session
    };
    let mut steps = Steps::default();
    steps.push(Step::Session, sessions.end_step(token_hash, now, None)?);
    steps.push(
        Step::Record,
        sessions.put_again_step(item, &reissued.token_hash)?,
    );
    if let Some(user_id) = reissued.user_id {
        let unlist = db.account_sessions().unlist_step(user_id, token_hash)?;
        steps.push(Step::Session, unlist);
    }
    push_opening(db, &mut steps, &reissued, None, None)?;
    steps.push(Step::IdempotencyKey, also(&reissued.token_hash)?);
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => match confirm(db, &reissued, None).await? {
            Ok(()) => Ok(Some((token, reissued))),
            Err(_) => {
                end_session(db, &reissued.token_hash).await?;
                Ok(None)
            }
        },
        Outcome::Refused {
            step: Step::Session,
            ..
        } => Ok(None),
        Outcome::Refused {
            step: Step::IdempotencyKey,
            ..
        } => Err(ApiError::KeyClaimed),
        // The employee was deactivated or the account removed: the session is over.
        Outcome::Refused {
            step: Step::EmployeeActive | Step::Account,
            ..
        } => Ok(None),
        Outcome::Conflict => Err(StoreError::Busy("reissuing a session").into()),
        Outcome::Refused { .. } => {
            Err(StoreError::Malformed("a session with this token exists".into()).into())
        }
    }
}

/// Ends one session (signing out) and takes it off its user's listing. Returns whether
/// it existed.
pub(crate) async fn end_session(db: &Db, token_hash: &str) -> Result<bool, StoreError> {
    match db.sessions().delete(token_hash).await? {
        None => Ok(false),
        Some(user) => {
            if let Some(user_id) = user {
                let hashes = [token_hash.to_owned()];
                db.account_sessions().unlist(user_id, &hashes).await?;
            }
            Ok(true)
        }
    }
}

/// Ends every session of a user but `kept` (the caller's, if given), as the account's
/// listing has them (a consistent read: every session opened before it is there), and
/// takes them off it. Returns how many ended.
pub async fn end_sessions(db: &Db, user_id: i64, kept: Option<&str>) -> Result<usize, StoreError> {
    let mut hashes = db.account_sessions().listed(user_id).await?;
    hashes.retain(|hash| Some(hash.as_str()) != kept);
    let ended = db.sessions().delete_all(&hashes).await?;
    db.account_sessions().unlist(user_id, &hashes).await?;
    Ok(ended)
}

/// The operator's ending of every session of a user, with its `audit` record (the count
/// filled in here): the sessions' deletes, their listings' and the record, in one
/// transaction. An account listing more sessions than a transaction holds ends them in
/// several, the record with the first, which carries the whole count. Returns how many
/// the account listed.
pub async fn end_sessions_recorded(
    app: &App,
    user_id: i64,
    audit: &AuditEntry,
) -> Result<usize, StoreError> {
    let db = &app.db;
    let hashes = db.account_sessions().listed(user_id).await?;
    let entry = AuditEntry {
        count: Some(hashes.len() as i64),
        ..audit.clone()
    };
    if hashes.is_empty() {
        return db.audit().record(&entry).await.map(|()| 0);
    }
    let mut record = Some(entry);
    for chunk in hashes.chunks(ENDINGS_PER_TRANSACTION) {
        let mut steps = Steps::default();
        for hash in chunk {
            steps.push(Step::Session, db.sessions().delete_step(hash)?);
            let unlist = db.account_sessions().unlist_step(user_id, hash)?;
            steps.push(Step::Session, unlist);
        }
        if let Some(entry) = record.take() {
            steps.push(Step::Audit, db.audit().put(&entry)?);
        }
        match steps.run(&db.client, &PRIORITY).await? {
            Outcome::Written => {}
            Outcome::Conflict => return Err(StoreError::Busy("ending a user's sessions")),
            refused => {
                return Err(StoreError::Malformed(format!(
                    "ending user {user_id}'s sessions was refused ({refused:?})"
                )));
            }
        }
    }
    Ok(hashes.len())
}

/// Gives every open session of a user their current grants, so that a change of role
/// takes effect at once. Returns how many sessions were updated (`None`: no such user).
pub async fn refresh_sessions(app: &App, user_id: i64) -> Result<Option<usize>, StoreError> {
    let db = &app.db;
    let Some(account) = db.users().account(user_id).await? else {
        return Ok(None);
    };
    let grants = super::grants_of(db, &account).await?;
    let mut refreshed = 0;
    for hash in db.account_sessions().listed(user_id).await? {
        // One ended meanwhile is not refreshed.
        if db.sessions().refresh(&hash, &grants).await? {
            refreshed += 1;
        }
    }
    Ok(Some(refreshed))
}
