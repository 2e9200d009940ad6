//! Password hashing: argon2id with OWASP's recommended parameters (19 MiB, 2 passes,
//! 1 lane), stored as a PHC string. A password itself is never stored or logged.
//!
//! Every hash and verification of a process runs in memory it keeps: allocating 19 MiB
//! afresh each time left the allocator holding freed blocks, and a warm function grew to
//! about 223 MB after 100 sign-ins. A Lambda process hashes for one request at a time and
//! so keeps one block; a server hashing for several requests at once keeps one each.

pub mod breached;

use crate::error::{ApiError, BoxError};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
pub use breached::BreachedPasswords;
use rand::Rng;
use std::sync::Mutex;

/// The memory cost in KiB (1 KiB per block).
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

/// Hashing memory not in use, kept for the next hash.
static SPARE_MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `work` on `blocks` blocks of kept memory, allocating only when none is spare.
/// Argon2's first pass writes every block before reading it, so reused memory needs no
/// clearing.
fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    let spare = SPARE_MEMORY.lock().ok().and_then(|mut spare| spare.pop());
    let mut memory = match spare {
        Some(memory) if memory.len() >= blocks => memory,
        _ => vec![Block::new(); blocks],
    };
    let result = work(&mut memory[..blocks]);
    if let Ok(mut spare) = SPARE_MEMORY.lock() {
        spare.push(memory);
    }
    result
}

fn params() -> Result<Params, BoxError> {
    Params::new(MEMORY_KIB, PASSES, LANES, Some(OUTPUT_BYTES))
        .map_err(|e| format!("argon2 parameters: {e}").into())
}

/// The PHC string to store for `password`, with a fresh random salt.
pub fn hash(password: &str) -> Result<String, BoxError> {
    let params = params()?;
    let mut salt = [0u8; SALT_BYTES];
    rand::rng().fill_bytes(&mut salt);
    let mut output = [0u8; OUTPUT_BYTES];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_memory(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, memory)
    })
    .map_err(|e| format!("argon2 hashing failed: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| format!("argon2 parameters: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| format!("argon2 salt: {e}"))?),
        hash: Some(Output::new(&output).map_err(|e| format!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// The rules a new password must meet: 12 to 128 characters, not the account's own
/// email address, at least 5 different characters, and not one of the `breached`
/// passwords. The reason never repeats the password.
pub fn check_policy(
    password: &str,
    email: &str,
    breached: &BreachedPasswords,
) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < 12 {
        return Err("must be at least 12 characters");
    }
    if length > 128 {
        return Err("must be at most 128 characters");
    }
    let lowered = password.to_lowercase();
    let email = email.to_lowercase();
    let local_part = email.split('@').next().unwrap_or_default();
    if lowered == email || lowered == local_part {
        return Err("must not be the email address");
    }
    let mut distinct: Vec<char> = lowered.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return Err("must use at least 5 different characters");
    }
    if breached.contains(password) {
        return Err(
            "appears in lists of breached passwords, which guessers try first; choose another",
        );
    }
    Ok(())
}

/// Accepts a new password for the account `email`: checks it against the policy
/// (`invalid-param` on `param` otherwise) and returns its hash, computed off the async
/// threads since argon2id is deliberately slow.
pub async fn accept_new(param: &str, password: String, email: &str) -> Result<String, ApiError> {
    let breached = breached::loaded().map_err(|reason| ApiError::Crash(reason.into()))?;
    check_policy(&password, email, breached).map_err(|reason| ApiError::invalid(param, reason))?;
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(ApiError::crash)?
        .map_err(ApiError::Crash)
}

/// Whether `password` matches the stored PHC string (compared in constant time), with
/// the parameters the string names.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(phc.algorithm.as_str()),
        Params::try_from(&phc),
    ) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let mut output = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = with_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut output, memory)
    });
    computed.is_ok() && Output::new(&output).is_ok_and(|output| output == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_with_argon2id_and_verifies() {
        let stored = hash("correct horse battery staple").unwrap_or_default();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery staple", &stored));
        assert!(!verify("correct horse battery stapler", &stored));
        assert_ne!(
            stored,
            hash("correct horse battery staple").unwrap_or_default()
        );
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_both_ways() {
        let standard = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or_default(),
        );
        let theirs = standard
            .hash_password(b"correct horse battery staple")
            .map(|hash| hash.to_string())
            .unwrap_or_default();
        assert!(verify("correct horse battery staple", &theirs));
        assert!(!verify("correct horse battery stapler", &theirs));
        let ours = hash("correct horse battery staple").unwrap_or_default();
        let parsed = PasswordHash::new(&ours).expect("our hash is a PHC string");
        assert!(
            standard
                .verify_password(b"correct horse battery staple", &parsed)
                .is_ok()
        );
    }

    #[test]
    fn a_malformed_or_foreign_stored_hash_matches_nothing() {
        for stored in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        ] {
            assert!(!verify("anything at all", stored), "{stored}");
        }
    }
}
