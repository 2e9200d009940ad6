//! Password hashing: argon2id with OWASP's recommended parameters (19 MiB, 2 passes,
//! 1 lane), stored as a PHC string. A password itself is never stored or logged.

use crate::error::{ApiError, BoxError};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Result<Argon2<'static>, BoxError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| format!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string to store for `password`, with a fresh random salt.
pub fn hash(password: &str) -> Result<String, BoxError> {
    let hash = hasher()?
        .hash_password(password.as_bytes())
        .map_err(|e| format!("argon2 hashing failed: {e}"))?;
    Ok(hash.to_string())
}

/// Passwords so common that they are tried first by anyone guessing (long enough to
/// pass the length rule, from public breach-frequency lists), compared case-insensitively.
const WELL_KNOWN: &[&str] = &[
    "000000000000",
    "111111111111",
    "123123123123",
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "abcdefghijkl",
    "abcd12345678",
    "administrator",
    "asdfghjkl123",
    "asdfghjkl;'",
    "baseball1234",
    "changeme1234",
    "correcthorsebatterystaple",
    "dragon123456",
    "football1234",
    "iloveyou1234",
    "letmeinletmein",
    "monkey123456",
    "password1234",
    "password12345",
    "password123456",
    "password!123",
    "passwordpassword",
    "passw0rd1234",
    "p@ssw0rd1234",
    "photographer",
    "photography1",
    "planoauth123",
    "planoauth1234",
    "princess1234",
    "qwerty123456",
    "qwertyqwerty",
    "qwertyuiop12",
    "qwertyuiopasdf",
    "qwertyuiop[]",
    "starwars1234",
    "sunshine1234",
    "superman1234",
    "trustno1trustno1",
    "welcome12345",
    "welcome123456",
    "zaq12wsxcde3",
    "zxcvbnm12345",
    "michael12345",
    "jennifer1234",
];

/// The rules a new password must meet: 12 to 128 characters, not a well-known password,
/// not the account's own email address, and not one or two characters repeated. The
/// reason never repeats the password.
pub fn check_policy(password: &str, email: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < 12 {
        return Err("must be at least 12 characters");
    }
    if length > 128 {
        return Err("must be at most 128 characters");
    }
    let lowered = password.to_lowercase();
    if WELL_KNOWN.contains(&lowered.as_str()) {
        return Err("is a well-known password; choose one that is harder to guess");
    }
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
    Ok(())
}

/// Accepts a new password for the account `email`: checks it against the policy
/// (`invalid-param` on `param` otherwise) and returns its hash, computed off the async
/// threads since argon2id is deliberately slow.
pub async fn accept_new(param: &str, password: String, email: &str) -> Result<String, ApiError> {
    check_policy(&password, email).map_err(|reason| ApiError::invalid(param, reason))?;
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(ApiError::crash)?
        .map_err(ApiError::Crash)
}

/// Whether `password` matches the stored PHC string.
pub fn verify(password: &str, stored: &str) -> bool {
    hasher().is_ok_and(|argon2| argon2.verify_password(password.as_bytes(), stored).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
