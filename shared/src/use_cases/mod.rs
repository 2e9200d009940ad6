//! The use cases: what each route does, in the product's words, above the stores and
//! beside the pipeline. A function's handler reads its parameters and calls one of
//! these; refusals come back as [`crate::ApiError`]s, mapped from the stores' refusals
//! in one place ([`crate::error`]).

mod change_password;
mod clean_sessions;
mod create_photographer;
mod notices;
mod proof;
mod register_client;
mod reset_password;
mod retry_emails;
mod sign_in;
mod sign_out;
mod update_employee;

pub use change_password::change_password;
pub use clean_sessions::{Report, clean_expired_sessions};
pub use create_photographer::{NewPhotographer, PHOTOGRAPHER_ROLE, create_photographer};
pub use notices::{Notice, send_notices};
pub use register_client::{
    CLIENT_ROLE, NewClient, RegistrationLimits, register_client, repeat_registration,
};
pub use reset_password::{ResetRequests, request_password_reset, reset_password, reset_throttles};
pub use retry_emails::{MAX_RETRIES, Retried, RetryReport, retry, retry_delay, retry_due_emails};
pub use sign_in::{open_session, repeat_opened_session};
pub use sign_out::sign_out;
pub use update_employee::{update_employee, write_employee_update};
