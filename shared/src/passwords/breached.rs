//! Breached passwords: the passwords of the SecLists project's top million that the
//! policy would otherwise accept, as fingerprints (the first four bytes of the SHA-256 of
//! the lowercased password), in the file `scripts/breached_passwords.py` builds. Lambda
//! finds it in the BreachedPasswordsLayer, at the path `BREACHED_PASSWORDS_FILE` names;
//! elsewhere (the tests, the local API, the operator's tool) the repository's copy serves.
//! A password outside the list is taken for one of them with probability count / 2^32,
//! about 1 in 100,000.

use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The variable naming the file.
pub const FILE_VARIABLE: &str = "BREACHED_PASSWORDS_FILE";
/// The repository's copy, where no variable names one.
const REPOSITORY_COPY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../layers/breached-passwords/breached-passwords/filter.bin"
);
const MAGIC: &[u8] = b"PABREACH";
const VERSION: u8 = 1;

/// The fingerprints, in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachedPasswords {
    fingerprints: Vec<u32>,
}

impl BreachedPasswords {
    /// The filter a file holds, checked whole: its magic and version, a count its length
    /// agrees with, fingerprints in strictly ascending order.
    pub fn from_bytes(bytes: &[u8]) -> Result<BreachedPasswords, String> {
        let header = MAGIC.len() + 1 + 4;
        if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
            return Err("is not a breached-passwords file".into());
        }
        if bytes[MAGIC.len()] != VERSION {
            return Err(format!("has version {}, not {VERSION}", bytes[MAGIC.len()]));
        }
        let count = u32::from_be_bytes(read4(&bytes[MAGIC.len() + 1..])) as usize;
        let body = &bytes[header..];
        if count.checked_mul(4) != Some(body.len()) {
            return Err(format!(
                "says {count} fingerprints but holds {} bytes of them",
                body.len()
            ));
        }
        let fingerprints: Vec<u32> = body
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes(read4(c)))
            .collect();
        if fingerprints.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err("has fingerprints out of order".into());
        }
        Ok(BreachedPasswords { fingerprints })
    }

    /// Whether `password` is (as the policy compares, lowercased) one of the list's.
    pub fn contains(&self, password: &str) -> bool {
        self.fingerprints
            .binary_search(&fingerprint(&password.to_lowercase()))
            .is_ok()
    }

    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }
}

fn read4(bytes: &[u8]) -> [u8; 4] {
    [bytes[0], bytes[1], bytes[2], bytes[3]]
}

fn fingerprint(lowered: &str) -> u32 {
    u32::from_be_bytes(read4(&Sha256::digest(lowered.as_bytes())))
}

/// The list this process uses, read once: as a function given the file starts
/// (`runtime::run`), or else on first use. Why it cannot be, naming the file, if not (a
/// password is then neither set nor let through unchecked).
pub fn loaded() -> Result<&'static BreachedPasswords, &'static str> {
    static LOADED: OnceLock<Result<BreachedPasswords, String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = std::env::var(FILE_VARIABLE)
                .ok()
                .filter(|path| !path.is_empty())
                .unwrap_or_else(|| REPOSITORY_COPY.to_owned());
            std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| BreachedPasswords::from_bytes(&bytes))
                .map_err(|reason| format!("the breached passwords file {path}: {reason}"))
        })
        .as_ref()
        .map_err(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(fingerprints: &[u32]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.push(VERSION);
        bytes.extend((fingerprints.len() as u32).to_be_bytes());
        for print in fingerprints {
            bytes.extend(print.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn the_repositorys_list_holds_the_breached_passwords_the_policy_would_accept() {
        let list = loaded().unwrap();
        assert_eq!(list.len(), 43_150);
        // Long enough for the policy, and in the top million: refused whatever the case.
        for breached in [
            "password1234",
            "Password1234",
            "QWERTY123456",
            "iloveyou1234",
        ] {
            assert!(list.contains(breached), "{breached}");
        }
        // Not in the list (one character away from ones that are).
        for fresh in ["password1234x", "violet-Tide-91-harbor", "qwerty1234567q"] {
            assert!(!list.contains(fresh), "{fresh}");
        }
    }

    #[test]
    fn a_file_that_is_not_whole_is_refused_in_words() {
        let mut sorted = vec![fingerprint("iloveyou1234"), fingerprint("password1234")];
        sorted.sort_unstable();
        let list = BreachedPasswords::from_bytes(&file(&sorted)).unwrap();
        assert!(list.contains("PASSWORD1234") && !list.contains("password12345"));
        let reversed: Vec<u32> = sorted.iter().rev().copied().collect();
        assert!(
            BreachedPasswords::from_bytes(&file(&reversed))
                .unwrap_err()
                .contains("order")
        );
        let whole = file(&sorted);
        assert!(
            BreachedPasswords::from_bytes(&whole[..whole.len() - 1])
                .unwrap_err()
                .contains("says 2")
        );
        assert!(
            BreachedPasswords::from_bytes(b"PNG")
                .unwrap_err()
                .contains("not a breached")
        );
        let mut later = whole.clone();
        later[MAGIC.len()] = 2;
        assert!(
            BreachedPasswords::from_bytes(&later)
                .unwrap_err()
                .contains("version 2")
        );
    }
}
