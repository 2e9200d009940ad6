//! Why PlanoAuth refuses a change: each refusal is one documented answer to the caller
//! (the mapping is in `error.rs`), whatever found it, a rule here or a condition that
//! failed in DynamoDB.

use super::records::ReferenceKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no employee has the id {0}")]
    UnknownEmployee(i64),
    #[error("the email address belongs to another user")]
    EmailTaken,
    #[error("no {} has this id or slug", .0.name())]
    UnknownReference(ReferenceKind),
    #[error("the off-boarding date is before the hiring date")]
    OffBoardedBeforeHired,
    #[error("the user already has a record")]
    AlreadyRegistered,
    #[error("the session was ended or changed by another request")]
    SessionChanged,
    #[error("the employee is deactivated")]
    Deactivated,
    /// The account's password is no longer the one the request checked.
    #[error("the password was changed meanwhile")]
    PasswordChanged,
    /// The account's roles are no longer the ones the request read.
    #[error("the account's roles were changed meanwhile")]
    GrantsChanged,
    /// The passkey a sign-in verified was used again (its counter moved past this one's)
    /// or removed meanwhile.
    #[error("the passkey was used or removed meanwhile")]
    PasskeyChanged,
    /// The second-factor code was used meanwhile (a TOTP code's step, a recovery code),
    /// or TOTP was turned off or on again.
    #[error("the second-factor code was used meanwhile")]
    CodeUsed,
    /// The challenge or ceremony was used, or ended, meanwhile.
    #[error("the challenge was used or ended meanwhile")]
    CeremonyEnded,
    /// A change the caller may not make to its own record (the reason says which).
    #[error("{0}")]
    OwnRecord(&'static str),
}
