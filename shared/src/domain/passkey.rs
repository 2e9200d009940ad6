//! Passkeys, and the ceremonies that enrol them and sign in with them: the records and
//! their rules, without I/O (the relying party, in the `passkeys` module, verifies).

/// How many passkeys one account may have.
pub const MAX_PASSKEYS: i64 = 10;
/// How long a ceremony waits for its finish; WebAuthn's own recommended timeout.
pub const CEREMONY_LIFETIME: i64 = 5 * 60;
/// The longest name a passkey may be given.
pub const MAX_NAME_CHARS: usize = 64;

/// A passkey of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// The credential id, base64url without padding: how the API names the passkey.
    pub id: String,
    pub user_id: i64,
    pub name: String,
    pub created_at: i64,
    /// `None` until its first sign-in.
    pub last_used_at: Option<i64>,
    /// Whether the authenticator says the passkey is backed up (synced across devices).
    pub backed_up: bool,
    /// The authenticator's signature counter at its last use (0: it keeps none).
    pub counter: u32,
    /// What verifies its assertions (a public key, its counter and flags), opaque here.
    pub key: String,
}

impl Passkey {
    /// The name a passkey gets when its owner gives none: when it was added.
    pub fn default_name(created: &str) -> String {
        format!("Passkey added {created}")
    }
}

/// What a ceremony does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Enrols a passkey for a signed-in user.
    Registration,
    /// Signs in with a passkey.
    SignIn,
    /// Turns TOTP on for a signed-in user: its state is the new secret, sealed.
    TotpEnrolment,
    /// A sign-in whose password was right, waiting for its second factor.
    SecondFactor,
}

impl CeremonyKind {
    pub const fn slug(self) -> &'static str {
        match self {
            CeremonyKind::Registration => "registration",
            CeremonyKind::SignIn => "sign-in",
            CeremonyKind::TotpEnrolment => "totp-enrolment",
            CeremonyKind::SecondFactor => "second-factor",
        }
    }

    pub fn from_slug(slug: &str) -> Option<CeremonyKind> {
        [
            CeremonyKind::Registration,
            CeremonyKind::SignIn,
            CeremonyKind::TotpEnrolment,
            CeremonyKind::SecondFactor,
        ]
        .into_iter()
        .find(|kind| kind.slug() == slug)
    }
}

/// Whom a ceremony is bound to: only they may finish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Starter {
    /// A session, by its id (which stays the same when its token is replaced).
    Session(String),
    /// An application token, by its id.
    Application(String),
}

impl Starter {
    /// How the ceremony's item names it.
    pub fn key(&self) -> String {
        match self {
            Starter::Session(id) => format!("session:{id}"),
            Starter::Application(id) => format!("application-token:{id}"),
        }
    }
}

/// A ceremony between its start and its finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub kind: CeremonyKind,
    pub starter: String,
    /// The relying party's state (the challenge), opaque here.
    pub state: String,
    pub expires_at: i64,
    /// A registration's account, or the account a sign-in named by its address.
    pub user_id: Option<i64>,
    /// The name a registration gives its passkey.
    pub name: Option<String>,
}

impl Ceremony {
    pub fn start(
        kind: CeremonyKind,
        starter: &Starter,
        state: String,
        user_id: Option<i64>,
        name: Option<String>,
        now: i64,
    ) -> Ceremony {
        Ceremony {
            kind,
            starter: starter.key(),
            state,
            expires_at: now + CEREMONY_LIFETIME,
            user_id,
            name,
        }
    }
}

/// Whether an account may add one more passkey.
pub fn may_add_passkey(passkeys: i64) -> bool {
    passkeys < MAX_PASSKEYS
}

/// Whether an account may remove one of its passkeys: not its last way to sign in.
pub fn may_remove_passkey(passkeys: i64, has_password: bool) -> bool {
    passkeys > 1 || has_password
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_passkeys_at_most() {
        assert!(may_add_passkey(0));
        assert!(may_add_passkey(MAX_PASSKEYS - 1));
        assert!(!may_add_passkey(MAX_PASSKEYS));
    }

    #[test]
    fn the_last_passkey_stays_unless_a_password_can_sign_in() {
        assert!(may_remove_passkey(2, false));
        assert!(!may_remove_passkey(1, false));
        assert!(may_remove_passkey(1, true));
    }

    #[test]
    fn a_ceremony_lasts_five_minutes_and_names_its_starter() {
        let starter = Starter::Session("s1".into());
        let ceremony = Ceremony::start(
            CeremonyKind::Registration,
            &starter,
            "{}".into(),
            Some(7),
            None,
            100,
        );
        assert_eq!(ceremony.expires_at, 100 + 300);
        assert_eq!(ceremony.starter, "session:s1");
        assert_ne!(
            Starter::Application("s1".into()).key(),
            ceremony.starter,
            "a token and a session never share a key"
        );
        for kind in [
            CeremonyKind::Registration,
            CeremonyKind::SignIn,
            CeremonyKind::TotpEnrolment,
            CeremonyKind::SecondFactor,
        ] {
            assert_eq!(CeremonyKind::from_slug(kind.slug()), Some(kind));
        }
    }
}
