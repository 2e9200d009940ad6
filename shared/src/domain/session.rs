//! Sessions: a user's (or a guest's) signed-in state, and when it ends.

use super::access::{Application, Permission, Profile};
use super::records::Account;
use super::refusal::Refusal;
use std::collections::BTreeMap;

/// A session ends when it is older than this...
pub const ABSOLUTE_LIFETIME: i64 = 7 * 24 * 60 * 60;
/// ...or has not been used for this long, unless the user chose `remember_me`.
pub const IDLE_LIFETIME: i64 = 72 * 60 * 60;

/// How long a proof of who the user is stays recent: what enrolling an authenticator
/// asks of a session (opened, or its password proved, within the last 15 minutes).
pub const RECENT_PROOF: i64 = 15 * 60;

/// How a session's user proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    /// A passkey that verified its user (a PIN or biometric): two factors in one.
    Passkey,
    /// A password, then a TOTP code.
    PasswordAndTotp,
    /// A password, then one of the account's recovery codes.
    PasswordAndRecoveryCode,
}

impl Method {
    pub const fn slug(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::Passkey => "passkey",
            Method::PasswordAndTotp => "password+totp",
            Method::PasswordAndRecoveryCode => "password+recovery_code",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Method> {
        [
            Method::Password,
            Method::Passkey,
            Method::PasswordAndTotp,
            Method::PasswordAndRecoveryCode,
        ]
        .into_iter()
        .find(|method| method.slug() == slug)
    }

    /// The factors the proof stands for.
    pub const fn factors(self) -> u8 {
        match self {
            Method::Password => 1,
            Method::Passkey | Method::PasswordAndTotp | Method::PasswordAndRecoveryCode => 2,
        }
    }
}

/// A session user's latest proof of who they are: how, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    pub method: Method,
    pub at: i64,
}

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
    /// Whether a role of the user requires a second factor the user has not enrolled:
    /// until they do, their sessions may only enrol one (and show, end themselves, or
    /// change the password).
    pub second_factor_enrolment_required: bool,
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
    /// Whether the user must enrol a second factor first (see [`Grants`]).
    pub second_factor_enrolment_required: bool,
    /// How and when the user last proved who they are (`None` for a guest).
    pub proof: Option<Proof>,
}

impl Session {
    /// A new session, known by its token's hash, for a user with their grants, proved by
    /// `method` now, or, without grants, a guest.
    pub fn open(
        token_hash: String,
        id: String,
        grants: Option<&Grants>,
        method: Method,
        application: Application,
        remember_me: bool,
        now: i64,
    ) -> Session {
        Session {
            token_hash,
            id,
            user_id: grants.map(|g| g.user_id),
            application,
            remember_me,
            created_at: now,
            last_used_at: now,
            profiles: grants.map(|g| g.profiles.clone()).unwrap_or_default(),
            permissions: grants.map(|g| g.permissions.clone()).unwrap_or_default(),
            password_change_required: grants.is_some_and(|g| g.password_change_required),
            second_factor_enrolment_required: grants
                .is_some_and(|g| g.second_factor_enrolment_required),
            proof: grants.map(|_| Proof { method, at: now }),
        }
    }

    /// The same session (its id, user, grants and creation) under a new token, for its
    /// caller once the old token has to stop working: its password changed, with the
    /// current one proved now, which ends a required change too. A passkey's proof
    /// stays the stronger.
    pub fn successor(&self, token_hash: String, now: i64) -> Session {
        let method = self.proof.map_or(Method::Password, |proof| proof.method);
        Session {
            token_hash,
            last_used_at: now,
            password_change_required: false,
            proof: self.user_id.map(|_| Proof { method, at: now }),
            ..self.clone()
        }
    }

    /// Whether the user proved who they are within [`RECENT_PROOF`] of `now`: what adding
    /// a way to sign in asks, so that a session someone else picked up cannot.
    pub fn recently_proven(&self, now: i64) -> bool {
        self.proof
            .is_some_and(|proof| now - proof.at <= RECENT_PROOF && proof.at <= now)
    }

    /// The factors the session's proof stands for (none for a guest).
    pub fn factors(&self) -> u8 {
        self.proof.map_or(0, |proof| proof.method.factors())
    }

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

/// Whether a user's session, once written, still stands against the account (`now`,
/// read after the write) and, for an employee, whether they are `active`: not if the
/// account is gone or its password is no longer the one a sign-in verified (`signed_in`,
/// the account as it read it), if the employee is deactivated, or if the account's
/// roles, records or forced change are no longer those the session's grants were read
/// from (a new sign-in gets the grants as they are now). A session opened without a
/// sign-in (a reissue) is checked for the deactivation alone.
pub fn confirm_opened(
    employee: bool,
    signed_in: Option<&Account>,
    now: Option<&Account>,
    active: Option<bool>,
) -> Result<(), Refusal> {
    match (now, signed_in) {
        (None, _) => Err(Refusal::PasswordChanged),
        (Some(now), Some(then)) if now.password_hash != then.password_hash => {
            Err(Refusal::PasswordChanged)
        }
        _ if employee && active != Some(true) => Err(Refusal::Deactivated),
        (Some(now), Some(then))
            if now.roles != then.roles
                || now.profiles != then.profiles
                || now.password_change_required != then.password_change_required =>
        {
            Err(Refusal::GrantsChanged)
        }
        _ => Ok(()),
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
            second_factor_enrolment_required: false,
            proof: Some(Proof {
                method: Method::Password,
                at: created_at,
            }),
        }
    }

    #[test]
    fn a_proof_is_recent_for_fifteen_minutes_and_a_password_change_renews_it() {
        let opened = session(false, 0, 0);
        assert!(opened.recently_proven(RECENT_PROOF));
        assert!(!opened.recently_proven(RECENT_PROOF + 1));
        let changed = opened.successor("h2".into(), 2 * RECENT_PROOF);
        assert!(changed.recently_proven(2 * RECENT_PROOF + 60));
        assert_eq!(changed.factors(), 1);
        let guest = Session {
            user_id: None,
            proof: None,
            ..session(false, 0, 0)
        };
        assert!(!guest.recently_proven(0));
        assert_eq!(guest.factors(), 0);
    }

    #[test]
    fn a_passkey_counts_as_two_factors_and_stays_so_after_a_password_change() {
        let grants = Grants {
            user_id: 1,
            ..Grants::default()
        };
        let opened = Session::open(
            "h".into(),
            "s".into(),
            Some(&grants),
            Method::Passkey,
            Application::PlanoAuth,
            false,
            10,
        );
        assert_eq!(opened.factors(), 2);
        assert_eq!(opened.successor("h2".into(), 20).factors(), 2);
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

    fn account(password: &str, role: &str) -> Account {
        Account {
            id: 1,
            password_hash: Some(password.into()),
            roles: BTreeMap::from([(Application::PlanoAuth, role.into())]),
            profiles: vec![Profile::Employee],
            password_change_required: false,
            passkeys: 0,
            passkey_handle: None,
            totp: None,
        }
    }

    #[test]
    fn a_session_opens_with_its_users_grants_and_its_successor_keeps_all_but_the_token() {
        let grants = Grants {
            user_id: 7,
            profiles: vec![Profile::Client],
            permissions: BTreeMap::new(),
            password_change_required: true,
            second_factor_enrolment_required: true,
        };
        let opened = Session::open(
            "h1".into(),
            "s".into(),
            Some(&grants),
            Method::Password,
            Application::PlanoX2,
            true,
            10,
        );
        assert_eq!(
            (opened.user_id, opened.created_at, opened.last_used_at),
            (Some(7), 10, 10)
        );
        assert!(opened.password_change_required && opened.remember_me);
        assert!(opened.second_factor_enrolment_required);
        let next = opened.successor("h2".into(), 20);
        assert_eq!((next.token_hash.as_str(), next.id.as_str()), ("h2", "s"));
        assert_eq!((next.created_at, next.last_used_at), (10, 20));
        assert!(!next.password_change_required, "the change was made");
        let guest = Session::open(
            "h3".into(),
            "g".into(),
            None,
            Method::Password,
            Application::PlanoAuth,
            false,
            0,
        );
        assert!(guest.user_id.is_none() && !guest.has_record());
        assert_eq!(guest.proof, None);
    }

    #[test]
    fn a_written_session_stands_only_against_the_account_it_was_opened_from() {
        let then = account("hash-1", "staff");
        let ok = confirm_opened(true, Some(&then), Some(&then), Some(true));
        assert_eq!(ok, Ok(()));
        let reset = account("hash-2", "staff");
        assert_eq!(
            confirm_opened(true, Some(&then), Some(&reset), Some(true)),
            Err(Refusal::PasswordChanged)
        );
        assert_eq!(
            confirm_opened(false, Some(&then), None, None),
            Err(Refusal::PasswordChanged),
            "the account is gone"
        );
        assert_eq!(
            confirm_opened(true, Some(&then), Some(&then), Some(false)),
            Err(Refusal::Deactivated)
        );
        let promoted = account("hash-1", "admin");
        assert_eq!(
            confirm_opened(true, Some(&then), Some(&promoted), Some(true)),
            Err(Refusal::GrantsChanged)
        );
        // A reissue checks the deactivation alone.
        assert_eq!(
            confirm_opened(true, None, Some(&promoted), Some(true)),
            Ok(())
        );
        assert_eq!(
            confirm_opened(true, None, Some(&promoted), None),
            Err(Refusal::Deactivated),
            "an employee without a record is not active"
        );
    }
}
