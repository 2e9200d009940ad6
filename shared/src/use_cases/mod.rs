//! The use cases: what each route (and each operator's workflow) does, in the product's
//! words, above the stores and beside the pipeline. A function's handler reads its
//! parameters and calls one of these. Each owns its unit of work: it reads, decides (the
//! rules are the domain's), collects its steps from the per-table stores, adds its audit
//! record and its idempotency claim as steps, runs the one transaction and reads its
//! outcome. Refusals come back as [`crate::ApiError`]s, mapped from the domain's
//! [`Refusal`](crate::domain::Refusal)s in one place ([`crate::error`]).

mod application_tokens;
mod change_password;
mod clean_sessions;
mod create_employee;
mod create_photographer;
mod notices;
mod passkey_sign_in;
mod passkeys;
mod proof;
mod register_client;
mod reset_password;
mod retry_emails;
mod roles;
mod second_factor;
mod second_factor_sign_in;
mod sessions;
mod sign_in;
mod sign_out;
mod update_employee;

pub use application_tokens::rotate_token;
pub use change_password::change_password;
pub use clean_sessions::{Report, clean_expired_sessions};
pub use create_employee::create_employee;
pub use create_photographer::{NewPhotographer, PHOTOGRAPHER_ROLE, create_photographer};
pub use notices::{Notice, send_notices};
pub use passkey_sign_in::{finish_passkey_sign_in, start_passkey_sign_in};
pub use passkeys::{
    CEREMONY, CREDENTIAL, delete_passkey, finish_passkey_registration, list_passkeys,
    start_passkey_registration,
};
pub use register_client::{
    CLIENT_ROLE, NewClient, RegistrationLimits, register_client, repeat_registration,
};
pub use reset_password::{ResetRequests, request_password_reset, reset_password, reset_throttles};
pub use retry_emails::{MAX_RETRIES, Retried, RetryReport, retry, retry_delay, retry_due_emails};
pub use roles::{RoleDefined, define_role, grant_role, grant_role_now, migrate_session_listings};
pub use second_factor::{
    ATTEMPTS_PER_CHALLENGE, confirm_totp, disable_totp, regenerate_recovery_codes,
    start_totp_enrolment, turn_off_totp_for_owner,
};
pub use second_factor_sign_in::{CHALLENGE, finish_second_factor_sign_in};
pub use sessions::{
    end_sessions, end_sessions_recorded, new_session, open_session_without_sign_in,
    refresh_sessions, write_opened, write_opened_with,
};
pub use sign_in::{open_session, repeat_opened_session};
pub use sign_out::sign_out;
pub use update_employee::{
    EmployeeUpdate, employee_update_reads, update_employee, write_employee_update,
};

use crate::domain::{Account, Email, Grants, Refusal};
use crate::error::ApiError;
use crate::pipeline::Ctx;
use crate::status::Status;
use crate::store::idempotency::Answer;
use crate::store::{Db, StoreError};
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde_json::Value;

/// What a session of this account may do: their records, per application the
/// permissions of their role, and whether they owe a password change or a second factor.
pub async fn grants_of(db: &Db, account: &Account) -> Result<Grants, StoreError> {
    Ok(grants_from(account, db.roles().held(&account.roles).await?))
}

/// [`grants_of`], with what the account's roles grant (`held`) read already.
pub(crate) fn grants_from(account: &Account, held: crate::store::roles::Held) -> Grants {
    Grants {
        user_id: account.id,
        profiles: account.profiles.clone(),
        permissions: held.permissions,
        password_change_required: account.password_change_required,
        second_factor_enrolment_required: held.second_factor_required
            && !account.has_second_factor(),
    }
}

/// The idempotency key's claim, recording a successful answer (its `data`, the account
/// whose password the request carried, the session it opened), as the step of the
/// transaction that does the work. `None` without a key.
pub(crate) fn claim_step(
    ctx: &Ctx<'_>,
    data: Option<&Value>,
    user_id: Option<i64>,
    session_hash: Option<&str>,
) -> Result<Option<TransactWriteItem>, StoreError> {
    let Some(key) = ctx.idempotency else {
        return Ok(None);
    };
    let answer = Answer {
        status: Status::ActionSuccessful.slug().to_owned(),
        data: data.cloned(),
        user_id,
        session_hash: session_hash.map(str::to_owned),
    };
    ctx.app
        .db
        .idempotency()
        .claim(key, &answer, ctx.now)
        .map(Some)
}

/// What a write that claimed `email` for `user_id` answers once other writes kept it
/// from the item for its whole budget: the address is taken if another user has it now,
/// and otherwise the write was only busy.
pub(crate) async fn after_conflicts(
    db: &Db,
    email: &Email,
    user_id: i64,
    what: &'static str,
) -> ApiError {
    match db.emails().owner(&email.normalized()).await {
        Ok(Some(owner)) if owner != user_id => Refusal::EmailTaken.into(),
        Ok(_) => StoreError::Busy(what).into(),
        Err(error) => error.into(),
    }
}
