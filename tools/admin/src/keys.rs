//! The KMS key an install seals TOTP secrets under, as the template declares it
//! (`TotpKey`, named by its alias `TotpKeyAlias`): on the local stack, made once per
//! install and found again by its alias.

use planoauth::error::BoxError;

/// The template's logical id of the alias the functions name the key by.
pub const TOTP_KEY_ALIAS: &str = "TotpKeyAlias";

/// The alias of an install's TOTP key: what `!Ref TotpKeyAlias` is on the local stack.
pub fn totp_key_alias(prefix: &str) -> String {
    format!("alias/{prefix}{TOTP_KEY_ALIAS}")
}

/// The install's TOTP key, by its alias: made (with the alias) if it has none yet.
pub async fn ensure_totp_key(kms: &aws_sdk_kms::Client, prefix: &str) -> Result<String, BoxError> {
    let alias = totp_key_alias(prefix);
    match kms.describe_key().key_id(&alias).send().await {
        Ok(_) => return Ok(alias),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) => {}
        Err(error) => {
            return Err(aws_sdk_kms::error::DisplayErrorContext(error)
                .to_string()
                .into());
        }
    }
    let key = kms
        .create_key()
        .description("PlanoAuth: the accounts' TOTP secrets")
        .send()
        .await
        .map_err(|e| aws_sdk_kms::error::DisplayErrorContext(e).to_string())?;
    let key_id = key
        .key_metadata
        .map(|metadata| metadata.key_id)
        .ok_or("KMS CreateKey answered no key")?;
    match kms
        .create_alias()
        .alias_name(&alias)
        .target_key_id(&key_id)
        .send()
        .await
    {
        Ok(_) => {}
        // Another install's run made it meanwhile: that key stands, this one goes.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            kms.schedule_key_deletion()
                .key_id(key_id)
                .pending_window_in_days(7)
                .send()
                .await
                .map_err(|e| aws_sdk_kms::error::DisplayErrorContext(e).to_string())?;
        }
        Err(error) => {
            return Err(aws_sdk_kms::error::DisplayErrorContext(error)
                .to_string()
                .into());
        }
    }
    Ok(alias)
}
