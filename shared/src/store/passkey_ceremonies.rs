//! Ceremonies between their start and their finish, by the SHA-256 of their id (the id
//! itself is only in the caller's hands): passkeys' enrolments and sign-ins, TOTP
//! enrolments and second-factor sign-in challenges; and the relying party's key for the
//! made-up credential ids of addresses without passkeys.
//!
//! A passkey finish takes its ceremony with one conditional delete: it must be of the
//! finish's kind, started by the same caller and not expired, so that a ceremony is used
//! once, only by whoever started it, and a refused attempt leaves it as it was. A code
//! checked against a TOTP enrolment or a challenge takes one of its attempts first, and
//! the change it lets through uses it up in its own transaction.

use super::{
    Conditional, Expression, Item, Reader, StoreError, number, put_new, send_through_conflicts,
    string, update_if,
};
use crate::domain::{Ceremony, CeremonyKind};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// DynamoDB's TTL removes expired ceremonies up to days late; a finish checks the time.
const TTL_GRACE: i64 = 24 * 60 * 60;
/// The item that holds the relying party's key (no ceremony hash is ever this).
const RELYING_PARTY_KEY: &str = "relying-party-key";

mod attr {
    pub const CEREMONY_HASH: &str = "ceremony_hash";
    pub const KIND: &str = "kind";
    pub const STARTER: &str = "starter";
    pub const STATE: &str = "state";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const EXPIRES: &str = "expires";
    pub const USER_ID: &str = "user_id";
    pub const NAME: &str = "name";
    pub const KEY: &str = "key";
    /// How many attempts a challenge or a TOTP enrolment has taken.
    pub const ATTEMPTS: &str = "attempts";
}

pub struct PasskeyCeremonies<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl PasskeyCeremonies<'_> {
    /// Stores a ceremony that has just started.
    pub async fn put(&self, hash: &str, ceremony: &Ceremony) -> Result<(), StoreError> {
        let mut item = Item::from([
            (attr::CEREMONY_HASH.into(), string(hash)),
            (attr::KIND.into(), string(ceremony.kind.slug())),
            (attr::STARTER.into(), string(&ceremony.starter)),
            (attr::STATE.into(), string(&ceremony.state)),
            (attr::EXPIRES_AT.into(), number(ceremony.expires_at)),
            (
                attr::EXPIRES.into(),
                number(ceremony.expires_at + TTL_GRACE),
            ),
        ]);
        if let Some(user_id) = ceremony.user_id {
            item.insert(attr::USER_ID.into(), number(user_id));
        }
        if let Some(name) = &ceremony.name {
            item.insert(attr::NAME.into(), string(name));
        }
        match put_new(self.client, self.table, attr::CEREMONY_HASH, item).await? {
            true => Ok(()),
            false => Err(StoreError::Malformed(
                "a ceremony with this id exists".into(),
            )),
        }
    }

    /// Takes the ceremony `hash` names, if it is a `kind` one that `starter` began and it
    /// has not expired at `now`: deleted, so that it is never used again. `None` (and
    /// nothing changed) otherwise.
    pub async fn take(
        &self,
        hash: &str,
        kind: CeremonyKind,
        starter: &str,
        now: i64,
    ) -> Result<Option<Ceremony>, StoreError> {
        let result = send_through_conflicts("taking a passkey ceremony", || {
            self.client
                .delete_item()
                .table_name(self.table)
                .key(attr::CEREMONY_HASH, string(hash))
                .condition_expression(
                    "attribute_exists(#hash) AND #kind = :kind AND #starter = :starter \
                     AND #expires_at >= :now",
                )
                .expression_attribute_names("#hash", attr::CEREMONY_HASH)
                .expression_attribute_names("#kind", attr::KIND)
                .expression_attribute_names("#starter", attr::STARTER)
                .expression_attribute_names("#expires_at", attr::EXPIRES_AT)
                .expression_attribute_values(":kind", string(kind.slug()))
                .expression_attribute_values(":starter", string(starter))
                .expression_attribute_values(":now", number(now))
                .return_values(ReturnValue::AllOld)
                .send()
        })
        .await?;
        let item = match result {
            Ok(output) => output.attributes.unwrap_or_default(),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(error.into()),
        };
        // An answer lost and the delete sent again finds nothing to return.
        if item.is_empty() {
            return Ok(None);
        }
        ceremony_from(&item, kind).map(Some)
    }

    /// Takes one attempt at the ceremony `hash` names, if it is a `kind` one that
    /// `starter` began, it has not expired at `now` and it has had fewer than `most`
    /// attempts: the ceremony, and how many attempts it has had with this one. `None`
    /// (and nothing changed) otherwise. The attempt is counted before the code it is for
    /// is checked, so that of requests sent together no more than `most` are checked.
    pub async fn attempt(
        &self,
        hash: &str,
        kind: CeremonyKind,
        starter: &str,
        now: i64,
        most: i64,
    ) -> Result<Option<(Ceremony, i64)>, StoreError> {
        let mut e = Expression::default();
        e.add(attr::ATTEMPTS, number(1));
        let (id, kind_name, starter_name, expires, attempts) = (
            e.name(attr::CEREMONY_HASH),
            e.name(attr::KIND),
            e.name(attr::STARTER),
            e.name(attr::EXPIRES_AT),
            e.name(attr::ATTEMPTS),
        );
        let (kind_value, starter_value, now_value, most_value) = (
            e.value(string(kind.slug())),
            e.value(string(starter)),
            e.value(number(now)),
            e.value(number(most)),
        );
        e.condition(format!(
            "attribute_exists({id}) AND {kind_name} = {kind_value} AND \
             {starter_name} = {starter_value} AND {expires} >= {now_value} AND \
             (attribute_not_exists({attempts}) OR {attempts} < {most_value})"
        ));
        let key = (attr::CEREMONY_HASH, string(hash));
        match update_if(self.client, self.table, key, &e).await? {
            Conditional::Updated(item) => {
                let attempts = Reader(&item).num(attr::ATTEMPTS)?;
                Ok(Some((ceremony_from(&item, kind)?, attempts)))
            }
            Conditional::Refused(_) => Ok(None),
        }
    }

    /// The transaction step that uses up the ceremony `hash` names: on condition that it
    /// is still there, so that of two requests that finish it, one does.
    pub fn use_step(&self, hash: &str) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        let id = e.name(attr::CEREMONY_HASH);
        e.condition(format!("attribute_exists({id})"));
        e.delete_step(self.table, (attr::CEREMONY_HASH, string(hash)))
    }

    /// Ends the ceremony `hash` names, whatever its state (its last attempt failed).
    pub async fn end(&self, hash: &str) -> Result<(), StoreError> {
        send_through_conflicts("ending a ceremony", || {
            self.client
                .delete_item()
                .table_name(self.table)
                .key(attr::CEREMONY_HASH, string(hash))
                .send()
        })
        .await?
        .map_err(StoreError::from)?;
        Ok(())
    }

    /// The relying party's key for made-up credential ids: `new` if none is kept yet,
    /// which it then is (a racing first use keeps the one written first).
    pub async fn relying_party_key(&self, new: &[u8]) -> Result<Vec<u8>, StoreError> {
        let read = || async {
            let output = self
                .client
                .get_item()
                .table_name(self.table)
                .key(attr::CEREMONY_HASH, string(RELYING_PARTY_KEY))
                .consistent_read(true)
                .send()
                .await?;
            let Some(item) = output.item else {
                return Ok::<_, StoreError>(None);
            };
            let key = Reader(&item).str(attr::KEY)?;
            STANDARD
                .decode(key)
                .map(Some)
                .map_err(|_| StoreError::Malformed("the relying party's key is not base64".into()))
        };
        if let Some(key) = read().await? {
            return Ok(key);
        }
        let item = Item::from([
            (attr::CEREMONY_HASH.into(), string(RELYING_PARTY_KEY)),
            (attr::KEY.into(), string(STANDARD.encode(new))),
        ]);
        put_new(self.client, self.table, attr::CEREMONY_HASH, item).await?;
        read()
            .await?
            .ok_or_else(|| StoreError::Malformed("the relying party's key was not kept".into()))
    }
}

fn ceremony_from(item: &Item, kind: CeremonyKind) -> Result<Ceremony, StoreError> {
    let read = Reader(item);
    Ok(Ceremony {
        kind,
        starter: read.str(attr::STARTER)?.to_owned(),
        state: read.str(attr::STATE)?.to_owned(),
        expires_at: read.num(attr::EXPIRES_AT)?,
        user_id: read.opt_num(attr::USER_ID)?,
        name: read.opt_str(attr::NAME).map(str::to_owned),
    })
}
