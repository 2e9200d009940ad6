//! The records PlanoAuth keeps, as plain values: how they are stored is the stores'
//! business, how they are shown the views'.

use super::access::{Application, Permission, Profile};
use super::email::Email;
use super::patch::Patch;
use std::collections::BTreeMap;

/// A postal address; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Address {
    pub street: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
}

/// An employee record (a photographer's among them), keyed by its user's id.
#[derive(Debug, Clone, PartialEq)]
pub struct Employee {
    pub id: i64,
    pub email: String,
    pub active: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub legal_name: Option<String>,
    pub phone: Option<String>,
    pub service_area_id: Option<i64>,
    pub skills: Vec<String>,
    pub address: Address,
    pub date_hired: Option<String>,
    pub date_off_boarded: Option<String>,
    pub extension: Option<i64>,
    pub department: Option<String>,
    pub designation_id: Option<i64>,
    pub language: Option<String>,
    pub photographer: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What creating an employee takes besides their id: the record's first fields and the
/// user account behind it.
pub struct NewEmployee<'a> {
    pub email: &'a Email,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub service_area_id: Option<i64>,
    pub extension: Option<i64>,
    pub department: Option<&'a str>,
    pub designation_id: Option<i64>,
    pub language: Option<&'a str>,
    pub photographer: bool,
    pub roles: &'a [(Application, &'a str)],
    /// An argon2id PHC string; never the password.
    pub password_hash: Option<&'a str>,
    /// Whether someone other than the employee chose that password, which they must then
    /// replace before doing anything else.
    pub password_change_required: bool,
}

impl Employee {
    /// The record a new, active employee starts as.
    pub fn new(id: i64, new: &NewEmployee<'_>, now: i64) -> Employee {
        let text = |value: Option<&str>| value.map(str::to_owned);
        Employee {
            id,
            email: new.email.as_str().to_owned(),
            active: true,
            first_name: text(new.first_name),
            last_name: text(new.last_name),
            legal_name: None,
            phone: text(new.phone),
            service_area_id: new.service_area_id,
            skills: Vec::new(),
            address: Address::default(),
            date_hired: None,
            date_off_boarded: None,
            extension: new.extension,
            department: text(new.department),
            designation_id: new.designation_id,
            language: text(new.language),
            photographer: new.photographer,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the record's off-boarding date is before its hiring date, which no change
    /// may leave it with (ISO dates compare as text).
    pub fn off_boards_before_hiring(&self) -> bool {
        matches!(
            (&self.date_hired, &self.date_off_boarded),
            (Some(hired), Some(off)) if off < hired
        )
    }

    /// The reference data the record points to, as (kind, id or slug).
    pub fn references(&self) -> Vec<(ReferenceKind, String)> {
        [
            (
                ReferenceKind::ServiceArea,
                self.service_area_id.map(|id| id.to_string()),
            ),
            (ReferenceKind::Department, self.department.clone()),
            (
                ReferenceKind::Designation,
                self.designation_id.map(|id| id.to_string()),
            ),
        ]
        .into_iter()
        .filter_map(|(kind, key)| Some((kind, key?)))
        .collect()
    }
}

/// Changes to an address, field by field; `address: null` clears every field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressChanges {
    pub street: Patch<String>,
    pub street2: Patch<String>,
    pub city: Patch<String>,
    pub state: Patch<String>,
    pub postal_code: Patch<String>,
    pub longitude: Patch<String>,
    pub latitude: Patch<String>,
}

impl AddressChanges {
    pub fn clear_all() -> Self {
        AddressChanges {
            street: Patch::Clear,
            street2: Patch::Clear,
            city: Patch::Clear,
            state: Patch::Clear,
            postal_code: Patch::Clear,
            longitude: Patch::Clear,
            latitude: Patch::Clear,
        }
    }
}

/// What an update changes besides the (required) email address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmployeeChanges {
    pub active: Option<bool>,
    pub service_area_id: Patch<i64>,
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub legal_name: Patch<String>,
    pub skills: Patch<Vec<String>>,
    pub phone: Patch<String>,
    pub address: AddressChanges,
    pub date_hired: Patch<String>,
    pub date_off_boarded: Patch<String>,
}

impl EmployeeChanges {
    /// Whether the changes set an off-boarding date before the hiring date they set.
    pub fn off_boards_before_hiring(&self) -> bool {
        matches!(
            (&self.date_hired, &self.date_off_boarded),
            (Patch::Set(hired), Patch::Set(off)) if off < hired
        )
    }

    /// Why a caller may not make these changes to its own record, when it may not: its
    /// address (the way its password is recovered) and its deactivation are for someone
    /// else who may act on it, or the operator, since a session alone proves no one holds
    /// more than a token. Everything else on one's own record is one's own to change.
    pub fn refused_on_own_record(&self, moves_address: bool) -> Option<&'static str> {
        if moves_address {
            return Some(
                "An employee's own address is changed by someone else who may act on them, \
                 or by the operator.",
            );
        }
        if self.active == Some(false) {
            return Some(
                "An employee is deactivated by someone else who may act on them, or by the \
                 operator.",
            );
        }
        None
    }
}

/// A client record: the people PlanoAuth's applications serve, keyed by their user's id.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub company: Option<String>,
    pub language: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user account as sign-in needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: i64,
    /// An argon2id PHC string; `None` for an account that cannot sign in with a password.
    pub password_hash: Option<String>,
    /// The user's role in each application.
    pub roles: BTreeMap<Application, String>,
    pub profiles: Vec<Profile>,
    /// Whether the password was set by someone else (an admin creating a photographer):
    /// the user's sessions may do nothing but change it.
    pub password_change_required: bool,
    /// How many passkeys the account has.
    pub passkeys: i64,
    /// The opaque id its passkeys know it by (the WebAuthn user handle), once it has one.
    pub passkey_handle: Option<String>,
    /// Its time-based one-time passwords, once turned on.
    pub totp: Option<Totp>,
}

impl Account {
    /// Whether the account signs in with a second factor: TOTP, or a passkey (which
    /// verifies its user).
    pub fn has_second_factor(&self) -> bool {
        self.second_factors() > 0
    }

    /// How many second factors the account has: TOTP, and each passkey.
    pub fn second_factors(&self) -> i64 {
        i64::from(self.totp.is_some()) + self.passkeys
    }
}

/// An account's TOTP, as stored: never the secret itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Totp {
    /// The secret as KMS sealed it for this account.
    pub sealed_secret: Vec<u8>,
    /// The step of the code last accepted: no code of it or of an earlier step is again.
    pub last_step: i64,
    pub enabled_at: i64,
    /// The hashes of the recovery codes not yet used.
    pub recovery_codes: Vec<String>,
}

/// A new user account, written with the record that gives the user a place.
pub struct NewUser<'a> {
    pub id: i64,
    pub roles: &'a [(Application, &'a str)],
    pub profiles: &'a [Profile],
    /// An argon2id PHC string; never the password.
    pub password_hash: Option<&'a str>,
    /// Whether someone else chose that password (see [`Account`]).
    pub password_change_required: bool,
}

/// How a trusted server calls as one of the applications; the token itself is never
/// kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationToken {
    pub id: String,
    pub application: Application,
    pub name: String,
    pub permissions: Vec<Permission>,
    pub created_at: i64,
}

/// The kinds of reference data records point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceKind {
    ServiceArea,
    Department,
    Designation,
}

impl ReferenceKind {
    pub const ALL: [ReferenceKind; 3] = [
        ReferenceKind::ServiceArea,
        ReferenceKind::Department,
        ReferenceKind::Designation,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            ReferenceKind::ServiceArea => "service_area",
            ReferenceKind::Department => "department",
            ReferenceKind::Designation => "designation",
        }
    }

    pub fn from_name(name: &str) -> Option<ReferenceKind> {
        ReferenceKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_boarding_before_hiring_is_seen_in_the_changes_alone() {
        let changes = |hired: &str, off: &str| EmployeeChanges {
            date_hired: Patch::Set(hired.into()),
            date_off_boarded: Patch::Set(off.into()),
            ..EmployeeChanges::default()
        };
        assert!(changes("2024-05-02", "2024-05-01").off_boards_before_hiring());
        assert!(!changes("2024-05-01", "2024-05-01").off_boards_before_hiring());
        assert!(!EmployeeChanges::default().off_boards_before_hiring());
    }

    fn employee(hired: Option<&str>, off: Option<&str>) -> Employee {
        let email = crate::domain::Email::parse("a@b.co").unwrap_or_else(|_| unreachable!());
        let new = NewEmployee {
            email: &email,
            first_name: None,
            last_name: None,
            phone: None,
            service_area_id: None,
            extension: None,
            department: None,
            designation_id: None,
            language: None,
            photographer: false,
            roles: &[],
            password_hash: None,
            password_change_required: false,
        };
        Employee {
            date_hired: hired.map(str::to_owned),
            date_off_boarded: off.map(str::to_owned),
            ..Employee::new(1, &new, 0)
        }
    }

    #[test]
    fn a_record_may_not_be_off_boarded_before_it_was_hired() {
        assert!(employee(Some("2024-05-02"), Some("2024-05-01")).off_boards_before_hiring());
        assert!(
            !employee(Some("2024-05-01"), Some("2024-05-01")).off_boards_before_hiring(),
            "hired and off-boarded on the same day"
        );
        assert!(!employee(Some("2024-05-02"), None).off_boards_before_hiring());
        assert!(
            !employee(None, Some("2024-05-01")).off_boards_before_hiring(),
            "a stored date cleared by the same update leaves nothing to compare"
        );
    }

    #[test]
    fn ones_own_address_and_deactivation_are_for_someone_else() {
        let renamed = EmployeeChanges {
            first_name: Patch::Set("Grace".into()),
            active: Some(true),
            ..EmployeeChanges::default()
        };
        assert_eq!(renamed.refused_on_own_record(false), None);
        assert!(renamed.refused_on_own_record(true).is_some());
        let leaving = EmployeeChanges {
            active: Some(false),
            ..EmployeeChanges::default()
        };
        assert!(leaving.refused_on_own_record(false).is_some());
    }
}
