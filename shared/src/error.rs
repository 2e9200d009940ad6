//! Why a request did not succeed. Every variant maps to exactly one catalogue status, in
//! [`ApiError::status`]; no handler builds an error response by hand.

use crate::domain::ReferenceKind as Kind;
use crate::domain::Refusal;
use crate::dynamo::StoreError;
use crate::status::Status;
use std::borrow::Cow;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A status whose catalogue message says it all, optionally with a detail.
    #[error("{}{}", .status.slug(), .detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Rejected {
        status: Status,
        detail: Option<Cow<'static, str>>,
    },
    #[error("missing parameter `{param}`")]
    MissingParam { param: String },
    #[error("invalid parameter `{param}`: {reason}")]
    InvalidParam { param: String, reason: String },
    /// An answer that is not a success but carries `data`: what was done, for a request
    /// that did part of its work and failed after (a photographer created although the
    /// welcome email could not be sent), or what the next step needs (the challenge of
    /// `second-factor-required`).
    #[error("{}", .status.slug())]
    Partial {
        status: Status,
        data: serde_json::Value,
    },
    /// Another request with the same idempotency key did the work first: the pipeline
    /// answers with what that request answered, so this never reaches a caller.
    #[error("the idempotency key was claimed by another request")]
    KeyClaimed,
    /// Something that should not happen: logged with its cause, answered with
    /// `application-crash`.
    #[error("internal error: {0}")]
    Crash(#[source] BoxError),
}

impl ApiError {
    pub fn status(&self) -> Status {
        match self {
            ApiError::Rejected { status, .. } => *status,
            ApiError::MissingParam { .. } => Status::MissingParam,
            ApiError::InvalidParam { .. } => Status::InvalidParam,
            ApiError::Partial { status, .. } => *status,
            ApiError::KeyClaimed | ApiError::Crash(_) => Status::ApplicationCrash,
        }
    }

    /// The human text of the envelope: the catalogue message, made specific.
    pub fn message(&self) -> String {
        match self {
            ApiError::Rejected {
                status,
                detail: Some(detail),
            } => format!("{} {}", status.message(), detail),
            ApiError::Rejected { status, .. } => status.message().to_owned(),
            ApiError::MissingParam { param } => {
                format!("The required parameter `{param}` was not passed.")
            }
            ApiError::InvalidParam { param, reason } => {
                format!("The parameter `{param}` is invalid: {reason}.")
            }
            ApiError::Partial { status, .. } => status.message().to_owned(),
            ApiError::KeyClaimed | ApiError::Crash(_) => {
                Status::ApplicationCrash.message().to_owned()
            }
        }
    }

    pub fn reject(status: Status) -> Self {
        ApiError::Rejected {
            status,
            detail: None,
        }
    }

    pub fn reject_because(status: Status, detail: impl Into<Cow<'static, str>>) -> Self {
        ApiError::Rejected {
            status,
            detail: Some(detail.into()),
        }
    }

    pub fn missing(param: impl Into<String>) -> Self {
        ApiError::MissingParam {
            param: param.into(),
        }
    }

    pub fn invalid(param: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::InvalidParam {
            param: param.into(),
            reason: reason.into(),
        }
    }

    pub fn crash(cause: impl Into<BoxError>) -> Self {
        ApiError::Crash(cause.into())
    }
}

/// A store's failure: a write that kept losing to concurrent ones is `record-busy`;
/// anything else (DynamoDB unreachable, throttling past every retry) is a crash.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Busy(_) => {
                tracing::warn!(cause = %error, "write gave up on contention");
                ApiError::reject(Status::RecordBusy)
            }
            other => ApiError::crash(other),
        }
    }
}

/// The one place where a refusal becomes what the caller hears.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::UnknownEmployee(id) => {
                ApiError::invalid("id", format!("no employee has the id {id}"))
            }
            Refusal::EmailTaken => ApiError::invalid("email", "is already used by another user"),
            Refusal::UnknownReference(kind) => {
                let (param, reason) = match kind {
                    Kind::ServiceArea => ("service_area_id", "no service area has this id"),
                    Kind::Department => ("department", "no department has this slug"),
                    Kind::Designation => ("designation_id", "no designation has this id"),
                };
                ApiError::invalid(param, reason)
            }
            Refusal::OffBoardedBeforeHired => {
                ApiError::invalid("date_off_boarded", "must not be before date_hired")
            }
            Refusal::AlreadyRegistered => ApiError::reject_because(
                Status::PermissionDenied,
                "This session's user already has a record.",
            ),
            Refusal::SessionChanged => ApiError::reject(Status::InvalidToken),
            Refusal::OwnRecord(reason) => {
                ApiError::reject_because(Status::PermissionDenied, reason)
            }
            Refusal::Deactivated => {
                ApiError::reject_because(Status::PermissionDenied, "This account is deactivated.")
            }
            // Trying again checks the password given against the new one.
            Refusal::PasswordChanged => {
                StoreError::Busy("the account's password changed meanwhile").into()
            }
            // Trying again reads the new roles.
            Refusal::GrantsChanged => {
                StoreError::Busy("the account's roles changed meanwhile").into()
            }
            Refusal::PasskeyChanged => ApiError::invalid(
                "credential",
                "names a passkey used again or removed since this sign-in began",
            ),
            Refusal::CodeUsed => ApiError::invalid(
                "totp_code",
                "was used already, or the account's second factor changed meanwhile",
            ),
            Refusal::CeremonyEnded => {
                ApiError::invalid("challenge", "was used already or has ended: sign in again")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_errors_name_the_parameter_and_the_reason() {
        let missing = ApiError::missing("id");
        assert_eq!(missing.status(), Status::MissingParam);
        assert!(missing.message().contains("`id`"));

        let invalid = ApiError::invalid("email", "not a valid email address");
        assert_eq!(invalid.status(), Status::InvalidParam);
        assert_eq!(
            invalid.message(),
            "The parameter `email` is invalid: not a valid email address."
        );
    }

    #[test]
    fn every_refusal_is_a_documented_answer_naming_what_was_refused() {
        use crate::domain::ReferenceKind;
        let cases = [
            (Refusal::UnknownEmployee(7), Status::InvalidParam, "`id`"),
            (Refusal::EmailTaken, Status::InvalidParam, "`email`"),
            (
                Refusal::UnknownReference(ReferenceKind::Department),
                Status::InvalidParam,
                "`department`",
            ),
            (
                Refusal::OffBoardedBeforeHired,
                Status::InvalidParam,
                "`date_off_boarded`",
            ),
            (
                Refusal::AlreadyRegistered,
                Status::PermissionDenied,
                "record",
            ),
            (Refusal::SessionChanged, Status::InvalidToken, ""),
            (
                Refusal::Deactivated,
                Status::PermissionDenied,
                "deactivated",
            ),
            (
                Refusal::OwnRecord("for someone else"),
                Status::PermissionDenied,
                "someone else",
            ),
            // Sending it again checks against what changed: nothing was written.
            (Refusal::PasswordChanged, Status::RecordBusy, ""),
            (Refusal::GrantsChanged, Status::RecordBusy, ""),
            (
                Refusal::PasskeyChanged,
                Status::InvalidParam,
                "`credential`",
            ),
        ];
        for (refusal, status, named) in cases {
            let error = ApiError::from(refusal);
            assert_eq!(error.status(), status, "{refusal:?}");
            assert!(
                error.message().contains(named),
                "{refusal:?}: {}",
                error.message()
            );
        }
    }

    #[test]
    fn a_crash_never_shows_its_cause() {
        let crash = ApiError::crash("table planoauth-Sessions is gone");
        assert_eq!(crash.status(), Status::ApplicationCrash);
        assert!(!crash.message().contains("Sessions"));
    }
}
