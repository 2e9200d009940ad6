//! The second factor's rules: time-based one-time passwords (RFC 6238: 160-bit secrets,
//! HMAC-SHA-1, 6 digits, 30-second steps, one step of skew either way), each step's code
//! accepted once, and recovery codes of 120 random bits kept only as their hashes.

use super::records::Totp;
use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret};

/// The bytes of a secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// How long a step lasts, in seconds.
pub const STEP_SECONDS: i64 = 30;
/// How many recovery codes a set holds.
pub const RECOVERY_CODES: usize = 10;
/// The issuer authenticator apps show beside the account's address.
pub const ISSUER: &str = "PlanoAuth";
/// Letters of a recovery code: base32's lowercase alphabet, 5 bits each; 24 of them make
/// 120 bits.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
const RECOVERY_LETTERS: usize = 24;

/// A TOTP secret. Never shown but once, at enrolment; its `Debug` hides it, and it has
/// no `PartialEq`, whose comparison would not take constant time.
#[derive(Clone)]
pub struct TotpSecret([u8; SECRET_BYTES]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    /// A new secret from the thread's generator (a CSPRNG seeded from the OS).
    pub fn generate() -> TotpSecret {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// A secret as stored (once decrypted): exactly [`SECRET_BYTES`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<TotpSecret> {
        bytes.try_into().ok().map(TotpSecret)
    }

    /// A secret as authenticator apps take it typed in (base32), if it is one.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let secret = Secret::try_from_base32(text).ok()?;
        TotpSecret::from_bytes(secret.as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as authenticator apps take it typed in: base32, unpadded.
    pub fn base32(&self) -> String {
        Secret::from(self.0.to_vec()).to_base32()
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code, for the account
    /// with address `account`.
    pub fn otpauth_uri(&self, account: &str) -> String {
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits=6&period={STEP_SECONDS}",
            issuer = ISSUER,
            account = percent_encoded(account),
            secret = self.base32(),
        )
    }

    /// The code of the step `time` falls in (what an authenticator app shows then).
    pub fn code_at(&self, time: i64) -> String {
        self.one_step().generate(time.max(0) as u64).to_string()
    }

    /// The step whose code `code` is, if it is one of the steps around `now` (the one
    /// before, `now`'s, the one after) and later than `last_used`, the step of the code
    /// last accepted: a code is accepted once, and never one older than the last.
    pub fn accepts(&self, code: &str, now: i64, last_used: Option<i64>) -> Option<i64> {
        let now_step = now.div_euclid(STEP_SECONDS);
        let totp = self.one_step();
        (now_step - 1..=now_step + 1)
            .filter(|step| *step >= 0 && last_used.is_none_or(|last| *step > last))
            .find(|step| totp.check(code, (step * STEP_SECONDS) as u64).is_some())
    }

    /// Checks one step only: the window is [`Self::accepts`]'s, step by step.
    fn one_step(&self) -> totp_rs::Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(0)
            .with_step_duration(STEP_SECONDS as u64)
            .with_secret(self.0)
            .build_noncompliant()
    }
}

/// A second-factor code as a caller gives it: the parameter says which kind.
#[derive(Clone, PartialEq, Eq)]
pub enum SecondFactorCode {
    Totp(String),
    RecoveryCode(String),
}

impl std::fmt::Debug for SecondFactorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecondFactorCode({})", self.param())
    }
}

impl SecondFactorCode {
    /// The parameter that carries it.
    pub const fn param(&self) -> &'static str {
        match self {
            SecondFactorCode::Totp(_) => TOTP_CODE,
            SecondFactorCode::RecoveryCode(_) => RECOVERY_CODE,
        }
    }
}

/// The parameters that carry a TOTP code and a recovery code, on every route.
pub const TOTP_CODE: &str = "totp_code";
pub const RECOVERY_CODE: &str = "recovery_code";

/// A code as it is used up, the condition of the write it goes with: the step of an
/// accepted TOTP code, or the hash of a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    Totp { step: i64 },
    RecoveryCode { hash: String },
}

/// What checking a code against an account's TOTP found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted(CodeUse),
    /// A TOTP code of the current window whose step was accepted before.
    Reused,
    Wrong,
}

/// Checks `code` against the account's `totp` at `now`: a TOTP code against `secret`
/// (the account's, opened), a recovery code against the hashes of those not yet used.
pub fn check_code(
    totp: &Totp,
    secret: Option<&TotpSecret>,
    code: &SecondFactorCode,
    now: i64,
) -> CodeCheck {
    match code {
        SecondFactorCode::Totp(code) => {
            let Some(secret) = secret else {
                return CodeCheck::Wrong;
            };
            if let Some(step) = secret.accepts(code, now, Some(totp.last_step)) {
                return CodeCheck::Accepted(CodeUse::Totp { step });
            }
            match secret.accepts(code, now, None) {
                Some(_) => CodeCheck::Reused,
                None => CodeCheck::Wrong,
            }
        }
        SecondFactorCode::RecoveryCode(code) => match recovery_code_hash(code) {
            Some(hash) if totp.recovery_codes.contains(&hash) => {
                CodeCheck::Accepted(CodeUse::RecoveryCode { hash })
            }
            _ => CodeCheck::Wrong,
        },
    }
}

fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A new set of recovery codes, as shown to their owner: 24 letters in groups of four.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let letters: Vec<char> = (0..RECOVERY_LETTERS)
                .map(|_| RECOVERY_ALPHABET[(rng.next_u32() % 32) as usize] as char)
                .collect();
            letters
                .chunks(4)
                .map(|group| group.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The hashes of a new set of recovery codes, as the account keeps them.
pub fn recovery_code_hashes(codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|code| recovery_code_hash(code))
        .collect()
}

/// What a recovery code is stored as: the SHA-256 (hex) of its letters, lowercased, with
/// the dashes and spaces a user may type left out. A code's 120 random bits make a slow
/// hash needless. `None` for text that cannot be a code.
pub fn recovery_code_hash(code: &str) -> Option<String> {
    let letters: String = code
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let well_formed = letters.len() == RECOVERY_LETTERS
        && letters.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
    well_formed.then(|| {
        Sha256::digest(letters.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's test secret (Appendix B) and its SHA-1 codes, last six digits.
    const RFC_SECRET: &[u8; 20] = b"12345678901234567890";

    #[test]
    fn codes_are_rfc_6238s() {
        let secret = TotpSecret::from_bytes(RFC_SECRET).unwrap();
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(secret.code_at(time), code, "at {time}");
        }
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let typed = TotpSecret::from_base32(&secret.base32()).unwrap();
        assert_eq!(typed.as_bytes(), secret.as_bytes());
    }

    #[test]
    fn a_code_is_accepted_within_a_step_either_way_and_once() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_015;
        let step = now / STEP_SECONDS;
        let code = secret.code_at(now);
        assert_eq!(secret.accepts(&code, now, None), Some(step));
        assert_eq!(
            secret.accepts(&code, now + STEP_SECONDS, None),
            Some(step),
            "a step late"
        );
        assert_eq!(
            secret.accepts(&code, now - STEP_SECONDS, None),
            Some(step),
            "a step early"
        );
        assert_eq!(
            secret.accepts(&code, now + 2 * STEP_SECONDS, None),
            None,
            "two late"
        );
        // Once accepted, neither it nor an older step's code is accepted again.
        assert_eq!(secret.accepts(&code, now, Some(step)), None);
        let earlier = secret.code_at(now - STEP_SECONDS);
        assert_eq!(secret.accepts(&earlier, now, Some(step)), None);
        let next = secret.code_at(now + STEP_SECONDS);
        assert_eq!(secret.accepts(&next, now, Some(step)), Some(step + 1));
        for malformed in ["", "12345", "1234567", "+12345", "abcdef"] {
            assert_eq!(secret.accepts(malformed, now, None), None, "{malformed:?}");
        }
    }

    #[test]
    fn a_checked_code_is_accepted_reused_or_wrong() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_015;
        let codes = new_recovery_codes();
        let totp = Totp {
            sealed_secret: Vec::new(),
            last_step: now / STEP_SECONDS - 1,
            enabled_at: now - 60,
            recovery_codes: codes.iter().filter_map(|c| recovery_code_hash(c)).collect(),
        };
        let given = SecondFactorCode::Totp(secret.code_at(now));
        let accepted = check_code(&totp, Some(&secret), &given, now);
        assert_eq!(
            accepted,
            CodeCheck::Accepted(CodeUse::Totp {
                step: now / STEP_SECONDS
            })
        );
        let used = Totp {
            last_step: now / STEP_SECONDS,
            ..totp.clone()
        };
        assert_eq!(
            check_code(&used, Some(&secret), &given, now),
            CodeCheck::Reused
        );
        let window: Vec<String> = [-30, 0, 30].map(|d| secret.code_at(now + d)).to_vec();
        let outside = (0..10)
            .map(|n| format!("00000{n}"))
            .find(|code| !window.contains(code))
            .unwrap_or_default();
        let wrong = SecondFactorCode::Totp(outside);
        assert_eq!(
            check_code(&totp, Some(&secret), &wrong, now),
            CodeCheck::Wrong
        );
        let recovery = SecondFactorCode::RecoveryCode(codes[3].to_uppercase());
        assert!(matches!(
            check_code(&totp, None, &recovery, now),
            CodeCheck::Accepted(CodeUse::RecoveryCode { .. })
        ));
        let other = SecondFactorCode::RecoveryCode(new_recovery_codes().remove(0));
        assert_eq!(check_code(&totp, None, &other, now), CodeCheck::Wrong);
        assert_eq!(format!("{recovery:?}"), "SecondFactorCode(recovery_code)");
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account() {
        let secret = TotpSecret::from_bytes(RFC_SECRET).unwrap();
        assert_eq!(
            secret.otpauth_uri("ada+work@example.com"),
            "otpauth://totp/PlanoAuth:ada%2Bwork@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=PlanoAuth&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret(…)");
    }

    #[test]
    fn recovery_codes_carry_120_bits_and_hash_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 24 + 5, "{code}");
            let hash = recovery_code_hash(code).unwrap();
            let typed = code.to_uppercase().replace('-', " ");
            assert_eq!(recovery_code_hash(&typed), Some(hash));
        }
        assert_eq!(recovery_code_hash("not-a-code"), None);
        assert_eq!(
            recovery_code_hash(&"1".repeat(24)),
            None,
            "outside the alphabet"
        );
    }
}
