//! Passwords given as proof of who the caller is (signing in, registering on an account
//! that has a password, changing it), and the throttles that keep them from being
//! guessed.
//!
//! A proof costs the same whatever it finds: one argon2id verification, against a hash
//! nobody knows when there is no password to check, and a failure counted against every
//! throttle. Past a throttle's limit, every attempt is refused until its window ends,
//! the right password too.

use crate::domain::Email;
use crate::error::ApiError;
use crate::metrics::{self, Metric};
use crate::passwords;
use crate::pipeline::Ctx;
use crate::status::Status;
use crate::store::throttles::{Limit, Throttle};
use crate::tokens;

/// How many attempts the windows allow, per email address (whether or not it has an
/// account; for a signed-in user, per account) and per source IP. The windows are
/// fixed, so a stranger can lock an address out for the rest of a window at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_address: Limit,
    /// An application's server calls from its own address, so this is a brake on one
    /// server's traffic as a whole: generous, and a window of minutes.
    pub per_source: Limit,
}

impl Limits {
    /// Wrong passwords (signing in, or proving the current one).
    pub const PASSWORDS: Limits = Limits {
        per_address: Limit {
            attempts: 100,
            window_seconds: 60 * 60,
        },
        per_source: Limit {
            attempts: 1_000,
            window_seconds: 10 * 60,
        },
    };

    /// Requests for a password reset email, answered or not: each sends an email.
    pub const RESET_REQUESTS: Limits = Limits {
        per_address: Limit {
            attempts: 5,
            window_seconds: 60 * 60,
        },
        per_source: Limit {
            attempts: 300,
            window_seconds: 10 * 60,
        },
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::PASSWORDS
    }
}

/// Whose password is guessed: an address being signed in to, or a signed-in account.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Address(&'a Email),
    Account(i64),
}

/// What wrong passwords are counted against: the subject (an address by its hash: the
/// throttles hold no address) and the source. Every proof from one source shares the
/// source's count.
pub fn password_throttles(subject: Subject<'_>, source_ip: &str, limits: &Limits) -> [Throttle; 2] {
    let subject = match subject {
        Subject::Address(email) => format!("address:{}", tokens::hash(&email.normalized())),
        Subject::Account(user_id) => format!("account:{user_id}"),
    };
    [
        Throttle {
            key: format!("sign-in:{subject}"),
            limit: limits.per_address,
        },
        Throttle {
            key: format!("sign-in:source:{source_ip}"),
            limit: limits.per_source,
        },
    ]
}

/// Refuses with `too-many-attempts` once any of the throttles has reached its limit.
pub(super) async fn refuse_if_throttled(
    ctx: &Ctx<'_>,
    throttles: &[Throttle],
) -> Result<(), ApiError> {
    if ctx
        .app
        .db
        .throttles()
        .any_reached(throttles, ctx.now)
        .await?
    {
        metrics::count(Metric::SignInThrottled);
        return Err(ApiError::reject(Status::TooManyAttempts));
    }
    Ok(())
}

/// Whether `given` is the password `stored` hashes (never, without a stored one), after
/// the same work either way; a failure is counted against every throttle.
pub(super) async fn verify_counting(
    ctx: &Ctx<'_>,
    throttles: &[Throttle],
    stored: Option<&str>,
    given: String,
) -> Result<bool, ApiError> {
    let known = stored.is_some();
    let stored = stored.unwrap_or(UNKNOWN_ACCOUNT_HASH).to_owned();
    let matches = tokio::task::spawn_blocking(move || passwords::verify(&given, &stored))
        .await
        .map_err(ApiError::crash)?
        && known;
    if !matches {
        metrics::count(Metric::SignInFailures);
        ctx.app.db.throttles().count_all(throttles, ctx.now).await?;
    }
    Ok(matches)
}

/// Checks the password a signed-in user gives (as `param`) to prove it is them, against
/// the account's `stored` hash, throttled per account and per source.
pub(super) async fn prove_account_password(
    ctx: &Ctx<'_>,
    user_id: i64,
    stored: &str,
    given: Option<String>,
    param: &str,
) -> Result<(), ApiError> {
    let given = given.ok_or_else(|| ApiError::missing(param))?;
    let throttles =
        password_throttles(Subject::Account(user_id), ctx.source_ip, &Limits::PASSWORDS);
    refuse_if_throttled(ctx, &throttles).await?;
    if !verify_counting(ctx, &throttles, Some(stored), given).await? {
        return Err(ApiError::invalid(param, "is not the account's password"));
    }
    Ok(())
}

/// The hash of a random secret nobody knows (generated once, the secret discarded):
/// verified when there is no password to check, so that failing costs the same argon2id
/// work either way. A constant, not computed, so that no request pays a second hash for it.
const UNKNOWN_ACCOUNT_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$j7OOiPezLzX3rI1i2nsG7Q$L8FKY9zneOW1UfAUESZfomjGSxDVFSIQJXAVHPlj134";

#[cfg(test)]
mod tests {
    use super::*;

    /// The stand-in must cost what a real hash does: the same algorithm and parameters.
    #[test]
    fn the_unknown_account_hash_has_the_parameters_of_every_new_hash() {
        let real = passwords::hash("a password someone chose").unwrap_or_default();
        let settings = |phc: &str| phc.rsplitn(3, '$').nth(2).map(str::to_owned);
        assert!(settings(&real).is_some());
        assert_eq!(settings(UNKNOWN_ACCOUNT_HASH), settings(&real));
        assert!(!passwords::verify("", UNKNOWN_ACCOUNT_HASH));
    }
}
