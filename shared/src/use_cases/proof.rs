//! The password a signed-in user gives to prove it is them (changing it, registering on
//! an account that has one): checked as a sign-in checks one, on the same budget as
//! signing in to that account ([`crate::attempts`]), so that a lock at one is a lock at
//! every route that checks the account's password.

use crate::attempts::{self, Person};
use crate::domain::Limits;
use crate::error::ApiError;
use crate::pipeline::Ctx;

/// Checks the password a signed-in user gives (as `param`) against the account's
/// `stored` hash, once an attempt is taken from the account's and the source's limits.
pub(super) async fn prove_account_password(
    ctx: &Ctx<'_>,
    user_id: i64,
    stored: &str,
    given: Option<String>,
    param: &str,
    limits: &Limits,
) -> Result<(), ApiError> {
    let given = given.ok_or_else(|| ApiError::missing(param))?;
    let throttles = attempts::password_throttles(Person::Account(user_id), ctx.origin, limits);
    if !attempts::check_password(&ctx.app.db, &throttles, ctx.now, Some(stored), given).await? {
        return Err(ApiError::invalid(param, "is not the account's password"));
    }
    Ok(())
}
