//! Password hashing: argon2id with OWASP's recommended parameters (19 MiB, 2 passes,
//! 1 lane), stored as a PHC string. A password itself is never stored or logged.

use crate::error::BoxError;
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
