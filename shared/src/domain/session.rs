//! Sessions: a user's (or a guest's) signed-in state, and when it ends.

use super::access::{Application, Permission, Profile};
use std::collections::BTreeMap;

/// A session ends when it is older than this...
pub const ABSOLUTE_LIFETIME: i64 = 7 * 24 * 60 * 60;
/// ...or has not been used for this long, unless the user chose `remember_me`.
pub const IDLE_LIFETIME: i64 = 72 * 60 * 60;

/// What a user is allowed, as a session carries it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grants {
    pub user_id: i64,
    /// The kinds of records the user has.
    pub profiles: Vec<Profile>,
    /// Per application, the permissions of the user's role there.
    pub permissions: BTreeMap<Application, Vec<Permission>>,
    /// Whether the user must replace a password someone else set before anything else.
    pub password_change_required: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The key of the session's item: the hash of its token (never shown).
    pub token_hash: String,
    pub id: String,
    /// `None` for a guest session, opened before the user registers.
    pub user_id: Option<i64>,
    /// The application the session was opened through; the default one it acts in.
    pub application: Application,
    pub remember_me: bool,
    pub created_at: i64,
    pub last_used_at: i64,
    pub profiles: Vec<Profile>,
    pub permissions: BTreeMap<Application, Vec<Permission>>,
    /// Whether the user must change their password before the session may do anything
    /// but that, show itself or end (see [`Grants`]).
    pub password_change_required: bool,
}

impl Session {
    /// When the session stops working if it is not used again; `None` with `remember_me`.
    pub fn expires_at(&self) -> Option<i64> {
        (!self.remember_me)
            .then(|| (self.created_at + ABSOLUTE_LIFETIME).min(self.last_used_at + IDLE_LIFETIME))
    }

    /// Whether the session still works at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at().is_none_or(|expiry| now <= expiry)
    }

    /// Whether the session's user has a record (an employee, client or liaison one).
    pub fn has_record(&self) -> bool {
        self.user_id.is_some() && !self.profiles.is_empty()
    }

    pub fn allows(&self, application: Application, permission: Permission) -> bool {
        self.permissions
            .get(&application)
            .is_some_and(|held| held.contains(&permission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 60 * 60;

    fn session(remember_me: bool, created_at: i64, last_used_at: i64) -> Session {
        Session {
            token_hash: "h".into(),
            id: "s".into(),
            user_id: Some(1),
            application: Application::PlanoAuth,
            remember_me,
            created_at,
            last_used_at,
            profiles: vec![Profile::Employee],
            permissions: BTreeMap::from([(
                Application::PlanoAuth,
                vec![Permission::EmployeesUpdate],
            )]),
            password_change_required: false,
        }
    }

    #[test]
    fn expiry_is_the_earlier_of_absolute_and_idle() {
        assert_eq!(session(false, 0, 0).expires_at(), Some(IDLE_LIFETIME));
        let late_use = 6 * 24 * HOUR;
        assert_eq!(
            session(false, 0, late_use).expires_at(),
            Some(ABSOLUTE_LIFETIME)
        );
        assert_eq!(session(true, 0, 0).expires_at(), None);
    }

    #[test]
    fn a_session_works_up_to_its_expiry_and_not_a_second_after() {
        let idle = session(false, 0, 0);
        assert!(idle.is_live(IDLE_LIFETIME));
        assert!(!idle.is_live(IDLE_LIFETIME + 1));
        let old = session(false, 0, ABSOLUTE_LIFETIME - HOUR);
        assert!(old.is_live(ABSOLUTE_LIFETIME));
        assert!(!old.is_live(ABSOLUTE_LIFETIME + 1));
        assert!(session(true, 0, 0).is_live(100 * ABSOLUTE_LIFETIME));
    }

    #[test]
    fn permissions_are_per_application() {
        let s = session(false, 0, 0);
        assert!(s.allows(Application::PlanoAuth, Permission::EmployeesUpdate));
        assert!(!s.allows(Application::PlanoOrder, Permission::EmployeesUpdate));
        assert!(!s.allows(Application::PlanoAuth, Permission::PhotographersCreate));
    }

    #[test]
    fn a_guest_has_no_record() {
        let guest = Session {
            user_id: None,
            profiles: Vec::new(),
            ..session(false, 0, 0)
        };
        assert!(!guest.has_record());
        assert!(session(false, 0, 0).has_record());
    }
}
