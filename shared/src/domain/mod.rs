//! The domain: PlanoAuth's records and the rules that need no I/O. It imports nothing of
//! the rest of the crate; the stores, the pipeline and the use cases all build on it.

mod access;
mod audit;
mod email;
mod limits;
mod notice;
mod passkey;
mod patch;
mod records;
mod refusal;
mod session;
mod totp;

pub use access::{ActedOn, Application, Held, Permission, Profile, falls_short};
pub use audit::{Actor, AuditAction, AuditEntry, FieldChange, RecordKind};
pub use email::Email;
pub use limits::{Limit, Limits, Origin, Throttle};
pub use notice::SecurityNotice;
pub use passkey::{
    CEREMONY_LIFETIME, Ceremony, CeremonyKind, MAX_NAME_CHARS, MAX_PASSKEYS, Passkey, Starter,
    may_add_passkey, may_remove_passkey,
};
pub use patch::Patch;
pub use records::{
    Account, Address, AddressChanges, ApplicationToken, Client, Employee, EmployeeChanges,
    NewEmployee, NewUser, ReferenceKind, Totp,
};
pub use refusal::Refusal;
pub use session::{
    ABSOLUTE_LIFETIME, Grants, IDLE_LIFETIME, Method, Proof, RECENT_PROOF, Session, confirm_opened,
};
pub use totp::{
    CodeCheck, CodeUse, ISSUER, RECOVERY_CODE, RECOVERY_CODES, SECRET_BYTES, STEP_SECONDS,
    SecondFactorCode, TOTP_CODE, TotpSecret, check_code, new_recovery_codes, recovery_code_hash,
    recovery_code_hashes,
};

/// The language of a record when none is given.
pub const DEFAULT_LANGUAGE: &str = "en";
