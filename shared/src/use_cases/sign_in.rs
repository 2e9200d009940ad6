//! Opening sessions: signing a user in, or a guest session (what a registration page
//! holds before `users/client_register`).
//!
//! An unknown email and a wrong password get the same answer after the same work (a read
//! of the throttles, the address, an account, one argon2id verification and the count of
//! the failure), so neither the answer nor its time tells which addresses have accounts.
//! Failures are counted per address, whether or not it has an account, and per source
//! IP, each in fixed windows ([`SignInLimits`]); past a limit, every attempt is refused
//! until the window ends, the right password too.

use crate::domain::{Account, Email, Session};
use crate::error::ApiError;
use crate::idempotency;
use crate::passwords;
use crate::pipeline::{Ctx, Repeat, Reply};
use crate::status::Status;
use crate::store::WriteError;
use crate::store::idempotency::{Answer, IdempotencyKey};
use crate::store::sessions;
use crate::store::throttles::Throttle;
use crate::tokens;
use crate::view::{Show, View};
use serde_json::Value;
use std::sync::OnceLock;

/// How many failed sign-ins a window allows. The windows are fixed, so a stranger can
/// lock an address out for the rest of a window at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// Failures per email address (with an account or not) in `address_window` seconds.
    pub per_address: i64,
    pub address_window: i64,
    /// Failures per source IP in `source_window` seconds. An application's server signs
    /// its users in from its own address, so this is a brake on one server's traffic as
    /// a whole: generous, and a window of minutes.
    pub per_source: i64,
    pub source_window: i64,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            per_address: 100,
            address_window: 60 * 60,
            per_source: 1_000,
            source_window: 10 * 60,
        }
    }
}

/// Opens a session: for the user whose `(email, password)` these are, or a guest's
/// without them. The answer holds the session with its token: the only answer that
/// ever holds one.
pub async fn open_session(
    ctx: &Ctx<'_>,
    credentials: Option<(Email, String)>,
    remember_me: bool,
    limits: &SignInLimits,
) -> Result<Reply, ApiError> {
    let grants = match credentials {
        None => None,
        Some((email, password)) => {
            let account = sign_in(ctx, &email, password, limits).await?;
            Some(ctx.app.db.users().grants_of(&account).await?)
        }
    };
    let (token, session) = sessions::open(grants.as_ref(), ctx.application, remember_me, ctx.now);
    let claim = ctx.claim(
        None,
        grants.as_ref().map(|g| g.user_id),
        Some(&session.token_hash),
    )?;
    ctx.app.db.sessions().put(&session, claim).await?;
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
        let reissued = repeat
            .app
            .db
            .sessions()
            .reissue(&hash, repeat.now, |new_hash| {
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
            Err(WriteError::KeyClaimed) => {
                opened = idempotency
                    .find(&key.key_hash, repeat.now)
                    .await?
                    .and_then(|recorded| recorded.answer.session_hash);
            }
            Err(error) => return Err(error.into()),
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

/// What a sign-in's failures are counted against: the address (by its hash: the
/// throttles hold no address), and the source.
pub fn sign_in_throttles(email: &Email, source_ip: &str, limits: &SignInLimits) -> [Throttle; 2] {
    [
        Throttle {
            key: format!("sign-in:address:{}", tokens::hash(&email.normalized())),
            window_seconds: limits.address_window,
        },
        Throttle {
            key: format!("sign-in:source:{source_ip}"),
            window_seconds: limits.source_window,
        },
    ]
}

/// The account whose password this is, or the one refusal every failure shares.
async fn sign_in(
    ctx: &Ctx<'_>,
    email: &Email,
    password: String,
    limits: &SignInLimits,
) -> Result<Account, ApiError> {
    let db = &ctx.app.db;
    let throttles = sign_in_throttles(email, ctx.source_ip, limits);
    let failures = db.throttles().counts(&throttles, ctx.now).await?;
    if failures[0] >= limits.per_address || failures[1] >= limits.per_source {
        return Err(ApiError::reject(Status::TooManyAttempts));
    }
    let owner = db.emails().owner(&email.normalized()).await?;
    // Read an account even when the address has none, so both cost the same.
    let account = db
        .users()
        .account(owner.unwrap_or(0))
        .await?
        .filter(|_| owner.is_some());
    let stored = account.as_ref().and_then(|a| a.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || {
        passwords::verify(
            &password,
            stored.as_deref().unwrap_or_else(|| unknown_account_hash()),
        )
    })
    .await
    .map_err(ApiError::crash)?;

    let Some(account) = account.filter(|_| matches) else {
        let counter = db.throttles();
        let (by_address, by_source) = tokio::join!(
            counter.count_failure(&throttles[0], ctx.now),
            counter.count_failure(&throttles[1], ctx.now),
        );
        by_address?;
        by_source?;
        return Err(ApiError::invalid(
            "password",
            "the email address and password do not match",
        ));
    };
    // A deactivated employee is refused by the write of the session itself, which holds
    // only while they are active (`WriteError::Deactivated`): no read here could see a
    // deactivation that lands before the session does.
    Ok(account)
}

/// The hash of a random secret nobody knows: verified when the address has no account,
/// so that failing costs the same argon2id work either way.
fn unknown_account_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        passwords::hash(&tokens::random_id())
            .unwrap_or_else(|_| String::from("$argon2id$unavailable"))
    })
}
