//! Bearer secrets. A token is 256 random bits behind a prefix that says what it is
//! (`pa_app_` for an application, `pa_ses_` for a session); only its SHA-256 is stored,
//! so a leaked table holds nothing a caller can use.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Application,
    Session,
    /// Sent by email to reset a password; never a bearer token.
    PasswordReset,
    /// A passkey ceremony's id, between its start and its finish; bound to its starter.
    Ceremony,
    /// A sign-in's second-factor challenge or a TOTP enrolment, between its start and
    /// its finish; bound to its starter.
    Challenge,
}

impl TokenKind {
    const fn prefix(self) -> &'static str {
        match self {
            TokenKind::Application => "pa_app_",
            TokenKind::Session => "pa_ses_",
            TokenKind::PasswordReset => "pa_rst_",
            TokenKind::Ceremony => "pa_pkc_",
            TokenKind::Challenge => "pa_chl_",
        }
    }

    /// The kind a presented token claims to be, from its prefix.
    pub fn of(token: &str) -> Option<TokenKind> {
        [
            TokenKind::Application,
            TokenKind::Session,
            TokenKind::PasswordReset,
            TokenKind::Ceremony,
            TokenKind::Challenge,
        ]
        .into_iter()
        .find(|kind| token.starts_with(kind.prefix()))
    }
}

/// A fresh token of `kind`. The thread RNG is a CSPRNG seeded from the OS.
pub fn generate(kind: TokenKind) -> String {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(secret))
}

/// A short random identifier for records that are not secrets (a session's id, a
/// notification's): 96 bits in lower-case hex, which an operator can pass on a command
/// line as it is (a base64 one may begin with `-`, and read as an option).
pub fn random_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// What is stored and looked up: the hex SHA-256 of the whole token. Tokens carry 256
/// bits of entropy, so a fast hash is enough; a slow one would only cost latency.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_typed() {
        let a = generate(TokenKind::Session);
        let b = generate(TokenKind::Session);
        assert_ne!(a, b);
        assert_eq!(TokenKind::of(&a), Some(TokenKind::Session));
        assert_eq!(
            TokenKind::of(&generate(TokenKind::Application)),
            Some(TokenKind::Application)
        );
        assert_eq!(a.len(), "pa_ses_".len() + 43);
        assert_eq!(TokenKind::of("abc"), None);
    }

    #[test]
    fn random_ids_never_read_as_an_option() {
        let id = random_id();
        assert_eq!(id.len(), 24);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn hash_is_stable_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
