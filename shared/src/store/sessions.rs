//! Sessions: a user's (or a guest's) signed-in state, keyed by the hash of its token.
//!
//! A session carries what authorisation needs (the user's records and the permissions of
//! their roles, resolved when it opens), so that checking a request costs one strongly
//! consistent GetItem; its use is written only once per [`USE_RECORDING_INTERVAL`].
//!
//! A user's session is also listed in the account sessions table
//! ([`super::account_sessions`]), in the transaction that opens it.

use super::session_expiry::EXPIRY_SHARDS;
use super::{
    Conditional, Expression, Item, ItemKey, Reader, StoreError, WRITE_TOKEN, number, profiles,
    profiles_value, put_new, put_new_step, send_through_conflicts, string, update_if,
};
use crate::domain::{
    ABSOLUTE_LIFETIME, Application, Grants, IDLE_LIFETIME, Method, Permission, Proof, Session,
};
use crate::tokens;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};

/// DynamoDB's TTL deletes an item up to days after its time; it is only a backstop.
const TTL_GRACE: i64 = 24 * 60 * 60;
/// Writes in flight at once when a user's sessions all end.
const CONCURRENT_WRITES: usize = 16;
/// A check writes a session's last use only when the stored one is at least this old, so
/// that a session in steady use costs a read per request and a write every few minutes
/// (a write unit costs five times a strongly consistent read unit on demand). The idle
/// lifetime counts from the stored use: a session idles out at most this much early.
pub const USE_RECORDING_INTERVAL: i64 = 5 * 60;

pub(super) mod attr {
    pub const TOKEN_HASH: &str = "token_hash";
    pub const ID: &str = "session_id";
    pub const USER_ID: &str = "user_id";
    pub const APPLICATION: &str = "application";
    pub const REMEMBER_ME: &str = "remember_me";
    pub const CREATED_AT: &str = "created_at";
    pub const LAST_USED_AT: &str = "last_used_at";
    pub const PROFILES: &str = "profiles";
    pub const PERMISSIONS: &str = "permissions";
    pub const EXPIRES: &str = "expires";
    pub const EXPIRY_SHARD: &str = "expiry_shard";
    /// Present (true) only while the user must change a password someone else set.
    pub const PASSWORD_CHANGE_REQUIRED: &str = "password_change_required";
    /// Present (true) only while a role of the user requires a second factor they lack.
    pub const SECOND_FACTOR_ENROLMENT_REQUIRED: &str = "second_factor_enrolment_required";
    /// How and when the user last proved who they are; a user's session from before
    /// these were kept was opened with a password when it was created.
    pub const PROVED_BY: &str = "proved_by";
    pub const PROVED_AT: &str = "proved_at";
}

/// The session as it is stored: with the TTL backstop and, unless it is `remember_me`,
/// an expiry shard for the cleanup's indexes.
fn item_of(session: &Session) -> Item {
    let mut item = Item::from([
        (attr::TOKEN_HASH.into(), string(&session.token_hash)),
        (attr::ID.into(), string(&session.id)),
        (attr::APPLICATION.into(), string(session.application.slug())),
        (
            attr::REMEMBER_ME.into(),
            AttributeValue::Bool(session.remember_me),
        ),
        (attr::CREATED_AT.into(), number(session.created_at)),
        (attr::LAST_USED_AT.into(), number(session.last_used_at)),
    ]);
    if let Some(user_id) = session.user_id {
        item.insert(attr::USER_ID.into(), number(user_id));
    }
    if let Some(expires) = ttl_of(session) {
        item.insert(attr::EXPIRES.into(), number(expires));
        let shard = rand::random::<u32>() % EXPIRY_SHARDS;
        item.insert(attr::EXPIRY_SHARD.into(), string(shard.to_string()));
    }
    if let Some(profiles) = profiles_value(&session.profiles) {
        item.insert(attr::PROFILES.into(), profiles);
    }
    if let Some(permissions) = permissions_value(&session.permissions) {
        item.insert(attr::PERMISSIONS.into(), permissions);
    }
    // Flags are kept only while they are set.
    let flags = [
        (
            attr::PASSWORD_CHANGE_REQUIRED,
            session.password_change_required,
        ),
        (
            attr::SECOND_FACTOR_ENROLMENT_REQUIRED,
            session.second_factor_enrolment_required,
        ),
    ];
    for (flag, _) in flags.iter().filter(|(_, set)| *set) {
        item.insert((*flag).into(), AttributeValue::Bool(true));
    }
    if let Some(proof) = session.proof {
        item.insert(attr::PROVED_BY.into(), string(proof.method.slug()));
        item.insert(attr::PROVED_AT.into(), number(proof.at));
    }
    item
}

/// When DynamoDB may delete a session's items (its own and its listing): never for a
/// `remember_me` one.
pub fn ttl_of(session: &Session) -> Option<i64> {
    (!session.remember_me).then_some(session.created_at + ABSOLUTE_LIFETIME + TTL_GRACE)
}

pub fn session_from(item: &Item) -> Result<Session, StoreError> {
    let read = Reader(item);
    let application = read.str(attr::APPLICATION)?;
    let permissions = read
        .map(attr::PERMISSIONS)
        .map(|by_application| {
            by_application
                .iter()
                .filter_map(|(slug, held)| {
                    let held = match held {
                        AttributeValue::Ss(names) => names
                            .iter()
                            .filter_map(|name| Permission::from_name(name))
                            .collect(),
                        _ => Vec::new(),
                    };
                    Some((Application::from_slug(slug)?, held))
                })
                .collect()
        })
        .unwrap_or_default();
    let user_id = read.opt_num(attr::USER_ID)?;
    let created_at = read.num(attr::CREATED_AT)?;
    let proof = match read.opt_str(attr::PROVED_BY) {
        Some(slug) => Some(Proof {
            method: Method::from_slug(slug)
                .ok_or_else(|| StoreError::Malformed(format!("unknown proof `{slug}`")))?,
            at: read.num(attr::PROVED_AT)?,
        }),
        None => user_id.map(|_| Proof {
            method: Method::Password,
            at: created_at,
        }),
    };
    Ok(Session {
        token_hash: read.str(attr::TOKEN_HASH)?.to_owned(),
        id: read.str(attr::ID)?.to_owned(),
        user_id,
        application: Application::from_slug(application)
            .ok_or_else(|| StoreError::Malformed(format!("unknown application `{application}`")))?,
        remember_me: read.bool(attr::REMEMBER_ME),
        created_at,
        last_used_at: read.num(attr::LAST_USED_AT)?,
        profiles: profiles(&read, attr::PROFILES),
        permissions,
        password_change_required: read.bool(attr::PASSWORD_CHANGE_REQUIRED),
        second_factor_enrolment_required: read.bool(attr::SECOND_FACTOR_ENROLMENT_REQUIRED),
        proof,
    })
}

/// Permissions per application as a map of string sets; `None` when none is held.
fn permissions_value(
    permissions: &BTreeMap<Application, Vec<Permission>>,
) -> Option<AttributeValue> {
    let by_application: HashMap<String, AttributeValue> = permissions
        .iter()
        .filter(|(_, held)| !held.is_empty())
        .map(|(application, held)| {
            let names = held.iter().map(|p| p.name().to_owned()).collect();
            (application.slug().to_owned(), AttributeValue::Ss(names))
        })
        .collect();
    (!by_application.is_empty()).then_some(AttributeValue::M(by_application))
}

/// The condition that a session exists and is live at `now`: `remember_me`, or neither
/// older than the absolute lifetime nor idle longer than the idle one.
fn live_condition(e: &mut Expression, now: i64) -> String {
    let (hash, remember, created, used) = (
        e.name(attr::TOKEN_HASH),
        e.name(attr::REMEMBER_ME),
        e.name(attr::CREATED_AT),
        e.name(attr::LAST_USED_AT),
    );
    let (yes, oldest_creation, oldest_use) = (
        e.value(AttributeValue::Bool(true)),
        e.value(number(now - ABSOLUTE_LIFETIME)),
        e.value(number(now - IDLE_LIFETIME)),
    );
    format!(
        "attribute_exists({hash}) AND ({remember} = {yes} OR ({created} >= {oldest_creation} AND {used} >= {oldest_use}))"
    )
}

/// Sets (or, when empty, removes) a session's records and permissions. A required
/// password change is only ever added here, never lifted: a session may owe one that its
/// account does not record (its sign-in used a breached password), and only
/// `users/password_update`, which replaces the session, ends it. A second factor owed is
/// the account's state, set or lifted as the grants say.
fn set_grants(e: &mut Expression, grants: &Grants) {
    match profiles_value(&grants.profiles) {
        Some(profiles) => e.set(attr::PROFILES, profiles),
        None => e.remove(attr::PROFILES),
    };
    match permissions_value(&grants.permissions) {
        Some(permissions) => e.set(attr::PERMISSIONS, permissions),
        None => e.remove(attr::PERMISSIONS),
    };
    if grants.password_change_required {
        e.set(attr::PASSWORD_CHANGE_REQUIRED, AttributeValue::Bool(true));
    }
    match grants.second_factor_enrolment_required {
        true => e.set(
            attr::SECOND_FACTOR_ENROLMENT_REQUIRED,
            AttributeValue::Bool(true),
        ),
        false => e.remove(attr::SECOND_FACTOR_ENROLMENT_REQUIRED),
    };
}

/// What checking a session token found.
#[derive(Debug)]
pub enum Check {
    /// The session is live; its use is recorded (to within [`USE_RECORDING_INTERVAL`]).
    Valid(Session),
    /// The session exists but has expired; it was left as it was.
    Expired(Session),
    Unknown,
}

pub struct Sessions<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Sessions<'_> {
    /// Checks a session token with one strongly consistent read (a sign-out or an ending
    /// is seen at once) and, when the stored use is [`USE_RECORDING_INTERVAL`] old or
    /// more, records this one with a conditional UpdateItem. Its condition only passes
    /// for a live session, so an expired one is never revived, even one that expires
    /// between the read and the write; on failure DynamoDB hands back the old item, which
    /// tells expired from unknown.
    pub async fn check_and_touch(&self, token: &str, now: i64) -> Result<Check, StoreError> {
        let read = self.get(&tokens::hash(token)).await?;
        self.check_read(token, read.as_ref(), now).await
    }

    /// Where a session token's item is, for a caller that reads it along with another.
    pub fn key_of(&self, token: &str) -> ItemKey {
        ItemKey {
            table: self.table.to_owned(),
            key: Item::from([(attr::TOKEN_HASH.into(), string(tokens::hash(token)))]),
        }
    }

    /// [`Sessions::check_and_touch`] with the item already read (strongly consistently,
    /// at [`Sessions::key_of`]).
    pub async fn check_read(
        &self,
        token: &str,
        item: Option<&Item>,
        now: i64,
    ) -> Result<Check, StoreError> {
        let key = (attr::TOKEN_HASH, string(tokens::hash(token)));
        let Some(item) = item else {
            return Ok(Check::Unknown);
        };
        let session = session_from(item)?;
        if !session.is_live(now) {
            return Ok(Check::Expired(session));
        }
        if now - session.last_used_at < USE_RECORDING_INTERVAL {
            return Ok(Check::Valid(session));
        }
        let mut e = Expression::default();
        e.set(attr::LAST_USED_AT, number(now));
        let live = live_condition(&mut e, now);
        e.condition(live);
        Ok(match update_if(self.client, self.table, key, &e).await? {
            Conditional::Updated(item) => Check::Valid(session_from(&item)?),
            Conditional::Refused(Some(old)) => Check::Expired(session_from(&old)?),
            Conditional::Refused(None) => Check::Unknown,
        })
    }

    /// A session's item, read consistently.
    pub async fn get(&self, token_hash: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key(attr::TOKEN_HASH, string(token_hash))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item)
    }

    /// Writes a guest's new session, which is one item; `false` if its token's hash is
    /// taken (which 256 random bits never are).
    pub async fn put_new(&self, session: &Session) -> Result<bool, StoreError> {
        put_new(self.client, self.table, attr::TOKEN_HASH, item_of(session)).await
    }

    /// The transaction step that writes a new session.
    pub fn put_step(&self, session: &Session) -> Result<TransactWriteItem, StoreError> {
        put_new_step(self.table, item_of(session), attr::TOKEN_HASH)
    }

    /// The transaction step that writes a stored session's `item` (as [`Sessions::get`]
    /// read it) again under `new_hash`: the same session, a new token.
    pub fn put_again_step(
        &self,
        mut item: Item,
        new_hash: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        item.insert(attr::TOKEN_HASH.into(), string(new_hash));
        item.remove(WRITE_TOKEN);
        put_new_step(self.table, item, attr::TOKEN_HASH)
    }

    /// The transaction step that ends a session on condition that it is live at `now`
    /// and, with `owner`, that it is still that caller's (its user, or a guest's: `None`
    /// inside).
    pub fn end_step(
        &self,
        token_hash: &str,
        now: i64,
        owner: Option<Option<i64>>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        let live = live_condition(&mut e, now);
        e.condition(live);
        if let Some(owner) = owner {
            let user = e.name(attr::USER_ID);
            let condition = match owner {
                Some(user_id) => format!("{user} = {}", e.value(number(user_id))),
                None => format!("attribute_not_exists({user})"),
            };
            e.condition(condition);
        }
        e.delete_step(self.table, (attr::TOKEN_HASH, string(token_hash)))
    }

    /// The transaction step that deletes a session, whatever it is.
    pub fn delete_step(&self, token_hash: &str) -> Result<TransactWriteItem, StoreError> {
        Expression::default().delete_step(self.table, (attr::TOKEN_HASH, string(token_hash)))
    }

    /// Deletes a session (signing out): `None` if there was none, else its user (`None`
    /// inside for a guest's).
    pub async fn delete(&self, token_hash: &str) -> Result<Option<Option<i64>>, StoreError> {
        let output = send_through_conflicts("ending a session", || {
            self.client
                .delete_item()
                .table_name(self.table)
                .key(attr::TOKEN_HASH, string(token_hash))
                .return_values(ReturnValue::AllOld)
                .send()
        })
        .await??;
        output
            .attributes()
            .map(|old| Reader(old).opt_num(attr::USER_ID))
            .transpose()
    }

    /// Deletes these sessions, concurrently; how many there were.
    pub async fn delete_all(&self, hashes: &[String]) -> Result<usize, StoreError> {
        let (client, table) = (self.client, self.table);
        let mut deletes = futures_util::stream::iter(hashes.iter().cloned())
            .map(|hash| async move {
                send_through_conflicts("ending a user's sessions", || {
                    client
                        .delete_item()
                        .table_name(table)
                        .key(attr::TOKEN_HASH, string(&hash))
                        .return_values(ReturnValue::AllOld)
                        .send()
                })
                .await
            })
            .buffer_unordered(CONCURRENT_WRITES);
        let mut ended = 0;
        while let Some(deleted) = deletes.next().await {
            if deleted??.attributes().is_some() {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Gives an open session the grants `grants`: `false` if it has ended.
    pub async fn refresh(&self, token_hash: &str, grants: &Grants) -> Result<bool, StoreError> {
        let mut e = Expression::default();
        set_grants(&mut e, grants);
        let name = e.name(attr::TOKEN_HASH);
        e.condition(format!("attribute_exists({name})"));
        let key = (attr::TOKEN_HASH, string(token_hash));
        Ok(matches!(
            update_if(self.client, self.table, key, &e).await?,
            Conditional::Updated(_)
        ))
    }

    /// Those of these sessions that exist, read consistently (at most 100).
    pub async fn find_all(&self, hashes: &[String]) -> Result<Vec<Session>, StoreError> {
        let keys = hashes
            .iter()
            .map(|hash| Item::from([(attr::TOKEN_HASH.into(), string(hash))]))
            .collect();
        super::batch_get(self.client, self.table, keys)
            .await?
            .iter()
            .map(session_from)
            .collect()
    }
}
