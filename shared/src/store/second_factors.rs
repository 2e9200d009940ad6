//! The second factor on the account's item (the users table): TOTP's sealed secret, the
//! step of the code last accepted and the recovery codes' hashes, each use a condition of
//! the transaction it is part of, so that a code or a recovery code works once.

use super::{Expression, Reader, StoreError, number, string};
use crate::domain::{CodeUse, Totp};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

const ID: &str = "id";
/// The TOTP secret as KMS sealed it: present while TOTP is on.
pub(super) const TOTP_SECRET: &str = "totp_secret";
/// The step of the TOTP code last accepted; each acceptance is conditioned on it.
const TOTP_LAST_STEP: &str = "totp_last_step";
const TOTP_ENABLED_AT: &str = "totp_enabled_at";
/// The hashes of the recovery codes not yet used (a string set).
const RECOVERY_CODES: &str = "recovery_codes";

/// The account's TOTP, if it is on, as its item holds it.
pub(super) fn totp_of(read: &Reader<'_>) -> Result<Option<Totp>, StoreError> {
    let Some(sealed) = read.opt_bytes(TOTP_SECRET) else {
        return Ok(None);
    };
    Ok(Some(Totp {
        sealed_secret: sealed.to_vec(),
        last_step: read.num(TOTP_LAST_STEP)?,
        enabled_at: read.num(TOTP_ENABLED_AT)?,
        recovery_codes: read.strings(RECOVERY_CODES),
    }))
}

/// The condition that TOTP is on with the secret `sealed` (not since turned off and on).
fn holds_secret(e: &mut Expression, sealed: &[u8]) -> String {
    let (secret, held) = (
        e.name(TOTP_SECRET),
        e.value(AttributeValue::B(sealed.to_vec().into())),
    );
    format!("{secret} = {held}")
}

fn key(user_id: i64) -> (&'static str, AttributeValue) {
    (ID, number(user_id))
}

pub struct SecondFactors<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl SecondFactors<'_> {
    fn table(&self) -> &str {
        self.table
    }

    /// The account's TOTP as it is now (a consistent read), if the account has it on.
    pub async fn totp(&self, user_id: i64) -> Result<Option<Totp>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .key(ID, number(user_id))
            .consistent_read(true)
            .projection_expression("#secret, #step, #enabled, #codes")
            .expression_attribute_names("#secret", TOTP_SECRET)
            .expression_attribute_names("#step", TOTP_LAST_STEP)
            .expression_attribute_names("#enabled", TOTP_ENABLED_AT)
            .expression_attribute_names("#codes", RECOVERY_CODES)
            .send()
            .await?;
        Ok(match output.item() {
            Some(item) => totp_of(&Reader(item))?,
            None => None,
        })
    }

    /// The transaction step that turns TOTP on with `totp`, on condition that it is off.
    pub fn enable_totp_step(
        &self,
        user_id: i64,
        totp: &Totp,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.set(
            TOTP_SECRET,
            AttributeValue::B(totp.sealed_secret.clone().into()),
        )
        .set(TOTP_LAST_STEP, number(totp.last_step))
        .set(TOTP_ENABLED_AT, number(totp.enabled_at))
        .set(RECOVERY_CODES, recovery_codes(&totp.recovery_codes)?);
        let (id, secret) = (e.name(ID), e.name(TOTP_SECRET));
        e.condition(format!(
            "attribute_exists({id}) AND attribute_not_exists({secret})"
        ));
        e.update_step(self.table(), key(user_id))
    }

    /// The transaction step that turns TOTP off, secret and recovery codes with it, on
    /// condition that it is on with the secret `sealed` (not since turned off and on) and
    /// that `proof`, the code that asked for it, is unused (an operator's asks with none);
    /// with `keep_second_factor`, also that the account has a passkey left.
    pub fn disable_totp_step(
        &self,
        user_id: i64,
        sealed: &[u8],
        proof: Option<&CodeUse>,
        keep_second_factor: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.remove(TOTP_SECRET)
            .remove(TOTP_LAST_STEP)
            .remove(TOTP_ENABLED_AT)
            .remove(RECOVERY_CODES);
        let held = holds_secret(&mut e, sealed);
        e.condition(held);
        if let Some(proof) = proof {
            let unused = unused(&mut e, proof);
            e.condition(unused);
        }
        if keep_second_factor {
            let (passkeys, none) = (e.name(super::users::attr::PASSKEYS), e.value(number(0)));
            e.condition(format!("{passkeys} > {none}"));
        }
        e.update_step(self.table(), key(user_id))
    }

    /// The transaction step that uses up `code`, checked against the secret `sealed`: on
    /// condition that TOTP is still on with that secret and that the code is unused (no
    /// TOTP code of its step or a later one accepted before; the recovery code still
    /// there), so that of two requests with one code, one passes, whatever route they
    /// came by. With `password_hash`, also that the account's password is still that one:
    /// the step stands for a sign-in's check of the account, which one transaction may
    /// not make beside a write to the same item.
    pub fn use_code_step(
        &self,
        user_id: i64,
        sealed: &[u8],
        code: &CodeUse,
        password_hash: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        used_up(&mut e, code);
        let (held, unused) = (holds_secret(&mut e, sealed), unused(&mut e, code));
        e.condition(format!("{held} AND {unused}"));
        if let Some(password_hash) = password_hash {
            let (name, value) = (
                e.name(super::users::attr::PASSWORD_HASH),
                e.value(string(password_hash)),
            );
            e.condition(format!("{name} = {value}"));
        }
        e.update_step(self.table(), key(user_id))
    }

    /// The transaction step that replaces the recovery codes with `hashes`, on condition
    /// that TOTP is on with the secret `sealed` and that `proof`, the code that asked for
    /// it, is unused (a TOTP code's step is recorded as used).
    pub fn replace_recovery_codes_step(
        &self,
        user_id: i64,
        sealed: &[u8],
        proof: &CodeUse,
        hashes: &[String],
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.set(RECOVERY_CODES, recovery_codes(hashes)?);
        if let CodeUse::Totp { step } = proof {
            e.set(TOTP_LAST_STEP, number(*step));
        }
        let (held, unused) = (holds_secret(&mut e, sealed), unused(&mut e, proof));
        e.condition(format!("{held} AND {unused}"));
        e.update_step(self.table(), key(user_id))
    }
}

/// Records `code` as used: its step as the last accepted, or the recovery code gone.
fn used_up(e: &mut Expression, code: &CodeUse) {
    match code {
        CodeUse::Totp { step } => e.set(TOTP_LAST_STEP, number(*step)),
        CodeUse::RecoveryCode { hash } => {
            e.delete(RECOVERY_CODES, AttributeValue::Ss(vec![hash.clone()]))
        }
    };
}

/// The condition that `code` is unused: no code of its step or a later one accepted, or
/// the recovery code still among the account's.
fn unused(e: &mut Expression, code: &CodeUse) -> String {
    match code {
        CodeUse::Totp { step } => {
            let (last, this) = (e.name(TOTP_LAST_STEP), e.value(number(*step)));
            format!("{last} < {this}")
        }
        CodeUse::RecoveryCode { hash } => {
            let (codes, code) = (e.name(RECOVERY_CODES), e.value(string(hash)));
            format!("contains({codes}, {code})")
        }
    }
}

/// A set of recovery codes' hashes: a string set, which DynamoDB never stores empty.
fn recovery_codes(hashes: &[String]) -> Result<AttributeValue, StoreError> {
    if hashes.is_empty() {
        return Err(StoreError::Malformed(
            "an empty set of recovery codes".into(),
        ));
    }
    Ok(AttributeValue::Ss(hashes.to_vec()))
}
