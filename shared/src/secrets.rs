//! The secrets PlanoAuth must read back (an account's TOTP secret) are kept only
//! encrypted under a KMS key, the one `TOTP_KEY_ID` names (the routes that will use it
//! are still to come, and with them the template's key; the tests make one on the local
//! stack's KMS). The account's id is the encryption context, so a ciphertext copied onto
//! another account's item does not decrypt, and every use is in CloudTrail with the
//! account it was for.

use crate::domain::TotpSecret;
use crate::error::{ApiError, BoxError};
use aws_sdk_kms::primitives::Blob;

/// The variable naming the key (its id, ARN or alias).
pub const KEY_VARIABLE: &str = "TOTP_KEY_ID";
/// The encryption context's key: what the key's policy may condition on.
const CONTEXT_ACCOUNT: &str = "planoauth:account";
const CONTEXT_PURPOSE: &str = "planoauth:purpose";

#[derive(Clone)]
pub struct SecretBox {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl SecretBox {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> SecretBox {
        SecretBox {
            client,
            key_id: key_id.into(),
        }
    }

    /// The key the environment names, through the function's SDK configuration.
    pub fn from_env(config: &crate::aws::SdkConfig) -> Result<SecretBox, BoxError> {
        let key_id = std::env::var(KEY_VARIABLE)
            .ok()
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(|| format!("{KEY_VARIABLE} is not set"))?;
        Ok(SecretBox::new(aws_sdk_kms::Client::new(config), key_id))
    }

    /// `secret` encrypted for the account `user_id`.
    pub async fn seal(&self, user_id: i64, secret: &TotpSecret) -> Result<Vec<u8>, ApiError> {
        let sealed = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(secret.as_bytes()))
            .encryption_context(CONTEXT_ACCOUNT, user_id.to_string())
            .encryption_context(CONTEXT_PURPOSE, "totp")
            .send()
            .await
            .map_err(|error| {
                ApiError::Crash(format!("KMS Encrypt: {}", error_text(&error)).into())
            })?;
        sealed
            .ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| ApiError::Crash("KMS Encrypt answered no ciphertext".into()))
    }

    /// The secret `ciphertext` holds for the account `user_id`; a ciphertext that is not
    /// that account's (or not a TOTP secret) is an error, never another account's secret.
    pub async fn open(&self, user_id: i64, ciphertext: &[u8]) -> Result<TotpSecret, ApiError> {
        let opened = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(CONTEXT_ACCOUNT, user_id.to_string())
            .encryption_context(CONTEXT_PURPOSE, "totp")
            .send()
            .await
            .map_err(|error| {
                ApiError::Crash(format!("KMS Decrypt: {}", error_text(&error)).into())
            })?;
        opened
            .plaintext
            .as_ref()
            .and_then(|plaintext| TotpSecret::from_bytes(plaintext.as_ref()))
            .ok_or_else(|| ApiError::Crash("KMS Decrypt answered no TOTP secret".into()))
    }
}

/// An SDK error as words, its service's code and message where it has them (never the
/// plaintext: neither call's error carries it).
fn error_text<E, R>(error: &aws_sdk_kms::error::SdkError<E, R>) -> String
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("unknown"),
            service.message().unwrap_or("")
        ),
        None => aws_sdk_kms::error::DisplayErrorContext(error).to_string(),
    }
}
