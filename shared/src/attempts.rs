//! Attempts under limits. An attempt is taken from its throttles before the work it is
//! limited for (one conditional write per counter, which holds only below the limit), so
//! that requests sent together cannot pass a limit: of N sent at once when one attempt is
//! left, one does the work. A password is checked only once its attempt is taken, and a
//! right one gives the attempt back, so that the limits count wrong passwords.
//!
//! Whose password it is sets the one budget every route that checks it shares
//! ([`Person`]): signing in, proving the current password to change it or to register,
//! and repeating a request that carried it.

use crate::domain::{Email, Limits, Origin, Throttle};
use crate::error::ApiError;
use crate::metrics::{self, Metric};
use crate::passwords;
use crate::status::Status;
use crate::store::Db;
use crate::store::throttles::Taken;
use crate::tokens;

/// Whom attempts are counted against.
#[derive(Debug, Clone, Copy)]
pub enum Person<'a> {
    /// An account, whichever way its password is given.
    Account(i64),
    /// An address without an account (by its hash: the counters hold no address).
    Address(&'a Email),
    /// A session, by its id (a guest's registrations).
    Session(&'a str),
}

impl Person<'_> {
    fn key(&self) -> String {
        match self {
            Person::Account(id) => format!("account:{id}"),
            Person::Address(email) => format!("address:{}", tokens::hash(&email.normalized())),
            Person::Session(id) => format!("session:{id}"),
        }
    }
}

/// The counters a password attempt for `person` from `origin` is taken from.
pub fn password_throttles(person: Person<'_>, origin: &Origin, limits: &Limits) -> Vec<Throttle> {
    limits.throttles("password", Some(&person.key()), origin)
}

/// The counters an attempt of `kind` on `person` (if any) from `origin` is taken from.
pub fn throttles(
    kind: &str,
    person: Option<Person<'_>>,
    origin: &Origin,
    limits: &Limits,
) -> Vec<Throttle> {
    let person = person.map(|p| p.key());
    limits.throttles(kind, person.as_deref(), origin)
}

/// Takes an attempt from every throttle, or refuses with `too-many-attempts` (nothing
/// counted) once any has reached its limit.
pub async fn take(db: &Db, throttles: &[Throttle], now: i64) -> Result<(), ApiError> {
    match db.throttles().take(throttles, now).await? {
        Taken::All => Ok(()),
        Taken::Refused => {
            metrics::count(Metric::AttemptsThrottled);
            Err(ApiError::reject(Status::TooManyAttempts))
        }
    }
}

/// Gives back the attempt a check that succeeded took: left counted, it would only make
/// the limit stricter, so a failure to give it back is logged, not answered.
pub async fn give_back(db: &Db, throttles: &[Throttle], now: i64) {
    if let Err(error) = db.throttles().give_back(throttles, now).await {
        tracing::warn!(cause = %error, "a successful attempt not given back");
    }
}

/// Whether `given` is the password `stored` hashes (never, without a stored one), checked
/// only once an attempt is taken from `throttles`, after the same work whatever it finds:
/// one argon2id verification, against a hash nobody knows when there is none to check. A
/// wrong password keeps its attempt counted; a right one gives it back.
pub async fn check_password(
    db: &Db,
    throttles: &[Throttle],
    now: i64,
    stored: Option<&str>,
    given: String,
) -> Result<bool, ApiError> {
    take(db, throttles, now).await?;
    let known = stored.is_some();
    let stored = stored.unwrap_or(UNKNOWN_ACCOUNT_HASH).to_owned();
    let matches = tokio::task::spawn_blocking(move || passwords::verify(&given, &stored))
        .await
        .map_err(ApiError::crash)?
        && known;
    if matches {
        give_back(db, throttles, now).await;
    } else {
        metrics::count(Metric::SignInFailures);
    }
    Ok(matches)
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

    #[test]
    fn an_address_is_counted_by_its_hash_whatever_its_case() {
        let email = |text| Email::parse(text).unwrap_or_else(|_| unreachable!());
        let (lower, upper) = (email("ada@example.com"), email("Ada@Example.COM"));
        let key = Person::Address(&lower).key();
        assert_eq!(key, Person::Address(&upper).key());
        assert!(!key.contains("ada"), "{key}");
        assert_eq!(Person::Account(7).key(), "account:7");
    }
}
