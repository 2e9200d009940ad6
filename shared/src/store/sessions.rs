//! Sessions: a user's (or a guest's) signed-in state, keyed by the hash of its token.
//!
//! A session carries what authorisation needs (the user's records and the permissions of
//! their roles, resolved when it opens), so that checking a request costs one strongly
//! consistent GetItem; its use is written only once per [`USE_RECORDING_INTERVAL`].
//!
//! A user's session is also listed in the account sessions table, keyed by the user, in
//! the transaction that opens it: ending them all queries that listing.

use super::{
    Conditional, Db, Expression, Item, ItemKey, Outcome, PRIORITY, Reader, Step, Steps, StoreError,
    WriteError, every_page, number, put, put_new, put_new_step, send_through_conflicts, string,
    update_if,
};
use crate::domain::{
    ABSOLUTE_LIFETIME, Account, Application, AuditEntry, Grants, IDLE_LIFETIME, Permission,
    Profile, Session,
};
use crate::tokens::{self, TokenKind};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap};

/// DynamoDB's TTL deletes an item up to days after its time; it is only a backstop.
const TTL_GRACE: i64 = 24 * 60 * 60;
/// Writes in flight at once when a user's sessions all end.
const CONCURRENT_WRITES: usize = 16;
/// Sessions one transaction ends, each its item and its listing: DynamoDB's 100 items,
/// less the audit record.
const ENDINGS_PER_TRANSACTION: usize = 49;
/// Sessions that can expire (not `remember_me`), by last use and by creation, for the
/// cleanup to find expired ones without a Scan. Spread over shards so that no index
/// partition takes every session's writes.
pub const IDLE_INDEX: &str = "by-last-use";
pub const AGE_INDEX: &str = "by-creation";
pub const EXPIRY_SHARDS: u32 = 8;
/// A check writes a session's last use only when the stored one is at least this old, so
/// that a session in steady use costs a read per request and a write every few minutes
/// (a write unit costs five times a strongly consistent read unit on demand). The idle
/// lifetime counts from the stored use: a session idles out at most this much early.
pub const USE_RECORDING_INTERVAL: i64 = 5 * 60;

mod attr {
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
}

/// A session's listing in the account sessions table (`user_id`, `token_hash`), with the
/// session's TTL backstop.
mod listing {
    pub const USER_ID: &str = "user_id";
    pub const TOKEN_HASH: &str = "token_hash";
    pub const EXPIRES: &str = "expires";
}

/// A new session for a user (with their grants) or a guest, and its token: the only time
/// the token exists outside the caller's hands.
pub fn open(
    grants: Option<&Grants>,
    application: Application,
    remember_me: bool,
    now: i64,
) -> (String, Session) {
    let token = tokens::generate(TokenKind::Session);
    let session = Session {
        token_hash: tokens::hash(&token),
        id: tokens::random_id(),
        user_id: grants.map(|g| g.user_id),
        application,
        remember_me,
        created_at: now,
        last_used_at: now,
        profiles: grants.map(|g| g.profiles.clone()).unwrap_or_default(),
        permissions: grants.map(|g| g.permissions.clone()).unwrap_or_default(),
        password_change_required: grants.is_some_and(|g| g.password_change_required),
    };
    (token, session)
}

/// The same session under a new token (its id, user, grants and creation kept), for the
/// caller once its old token has to stop working: its password changed.
pub fn successor(session: &Session, now: i64) -> (String, Session) {
    let token = tokens::generate(TokenKind::Session);
    let successor = Session {
        token_hash: tokens::hash(&token),
        last_used_at: now,
        password_change_required: false,
        ..session.clone()
    };
    (token, successor)
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
    if session.password_change_required {
        item.insert(
            attr::PASSWORD_CHANGE_REQUIRED.into(),
            AttributeValue::Bool(true),
        );
    }
    item
}

/// When DynamoDB may delete a session's items: never for a `remember_me` one.
fn ttl_of(session: &Session) -> Option<i64> {
    (!session.remember_me).then_some(session.created_at + ABSOLUTE_LIFETIME + TTL_GRACE)
}

fn listing_key(user_id: i64, token_hash: &str) -> Item {
    Item::from([
        (listing::USER_ID.into(), number(user_id)),
        (listing::TOKEN_HASH.into(), string(token_hash)),
    ])
}

fn session_from(item: &Item) -> Result<Session, StoreError> {
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
    Ok(Session {
        token_hash: read.str(attr::TOKEN_HASH)?.to_owned(),
        id: read.str(attr::ID)?.to_owned(),
        user_id: read.opt_num(attr::USER_ID)?,
        application: Application::from_slug(application)
            .ok_or_else(|| StoreError::Malformed(format!("unknown application `{application}`")))?,
        remember_me: read.bool(attr::REMEMBER_ME),
        created_at: read.num(attr::CREATED_AT)?,
        last_used_at: read.num(attr::LAST_USED_AT)?,
        profiles: super::profiles(&read, attr::PROFILES),
        permissions,
        password_change_required: read.bool(attr::PASSWORD_CHANGE_REQUIRED),
    })
}

/// A set of profiles as DynamoDB holds it; `None` when empty (it has no empty sets).
pub(super) fn profiles_value(profiles: &[Profile]) -> Option<AttributeValue> {
    (!profiles.is_empty())
        .then(|| AttributeValue::Ss(profiles.iter().map(|p| p.name().to_owned()).collect()))
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

/// Sets (or, when empty, removes) a session's records and permissions.
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
    } else {
        e.remove(attr::PASSWORD_CHANGE_REQUIRED);
    }
}

/// Whether two readings of an account give its sessions the same grants (the roles'
/// permissions aside, which belong to the roles).
fn same_grants_basis(one: &Account, other: &Account) -> bool {
    one.roles == other.roles
        && one.profiles == other.profiles
        && one.password_change_required == other.password_change_required
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
    pub(super) db: &'a Db,
}

impl Sessions<'_> {
    /// Checks a session token with one strongly consistent read (a sign-out or an ending
    /// is seen at once) and, when the stored use is [`USE_RECORDING_INTERVAL`] old or
    /// more, records this one with a conditional UpdateItem. Its condition only passes
    /// for a live session, so an expired one is never revived, even one that expires
    /// between the read and the write; on failure DynamoDB hands back the old item, which
    /// tells expired from unknown.
    pub async fn check_and_touch(&self, token: &str, now: i64) -> Result<Check, StoreError> {
        let read = self
            .client
            .get_item()
            .table_name(self.table)
            .set_key(Some(self.key_of(token).key))
            .consistent_read(true)
            .send()
            .await?;
        self.check_read(token, read.item(), now).await
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

    /// Opens a session for a user (with their grants) or a guest, and returns its token:
    /// the only time the token exists outside the caller's hands.
    pub async fn open(
        &self,
        grants: Option<&Grants>,
        application: Application,
        remember_me: bool,
        now: i64,
    ) -> Result<(String, Session), WriteError> {
        let (token, session) = open(grants, application, remember_me, now);
        self.put(&session, None, None).await?;
        Ok((token, session))
    }

    /// Writes a new session, with its listing for a user's in the same transaction, and
    /// for an employee on condition that they are active, so that no session opens after
    /// a deactivation. With `signed_in` (the account as a sign-in read it, its password
    /// verified), on condition that the account's password is still that one
    /// ([`WriteError::PasswordChanged`]), so that none opens with a password changed
    /// meanwhile. Both conditions are checked again once the session is written, and the
    /// roles its grants come from too (`confirm_opened`). With `claim` (an idempotency
    /// key's), in the same transaction too (and released if the session is refused once
    /// written), and [`WriteError::KeyClaimed`] if another request claimed the key first.
    pub async fn put(
        &self,
        session: &Session,
        signed_in: Option<&Account>,
        claim: Option<TransactWriteItem>,
    ) -> Result<(), WriteError> {
        let item = item_of(session);
        if session.user_id.is_none() && claim.is_none() {
            // A guest's session is one item: one conditional put.
            return match put_new(self.client, self.table, attr::TOKEN_HASH, item).await? {
                true => Ok(()),
                false => {
                    Err(StoreError::Malformed("a session with this token exists".into()).into())
                }
            };
        }
        let proof = signed_in.and_then(|account| account.password_hash.as_deref());
        let mut steps = Steps::default();
        steps.push(
            Step::Record,
            put_new_step(self.table, item, attr::TOKEN_HASH)?,
        );
        self.push_listing(&mut steps, session, proof)?;
        steps.push_some(Step::IdempotencyKey, claim.clone());
        match steps.run(self.client, &PRIORITY).await? {
            Outcome::Written => {
                self.confirm_opened(session, signed_in, claim.as_ref())
                    .await
            }
            Outcome::Refused {
                step: Step::IdempotencyKey,
                ..
            } => Err(WriteError::KeyClaimed),
            Outcome::Refused {
                step: Step::EmployeeActive,
                ..
            } => Err(WriteError::Deactivated),
            Outcome::Refused {
                step: Step::Account,
                ..
            } => Err(WriteError::PasswordChanged),
            Outcome::Conflict => Err(StoreError::Busy("opening a session").into()),
            refused => Err(StoreError::Malformed(format!(
                "opening a session was refused ({refused:?})"
            ))
            .into()),
        }
    }

    /// Checks a user's session, once its transaction has returned, against the account
    /// and the employee as they are now, and ends it (its token is never handed out) if
    /// the password is no longer the one `signed_in` had ([`WriteError::PasswordChanged`]),
    /// the employee is deactivated ([`WriteError::Deactivated`]), or the account's roles
    /// or profiles are no longer those its grants were read from
    /// ([`WriteError::GrantsChanged`]: a new sign-in gets the grants as they are now).
    /// An ended session's `claim` (the idempotency key's record, written with it) is
    /// released, so that the refusal changed nothing.
    ///
    /// The ending that follows a password change or a deactivation, and the refresh of
    /// open sessions that follows a change of role, find sessions with a Query. DynamoDB
    /// isolates a Query from transactions only read-committed: it can miss a listing
    /// whose transaction has been applied to the account but not yet to the listing; and
    /// a session whose transaction comes after it, with grants read before the change, is
    /// not there to find. Such a Query ran before this transaction returned, so after the
    /// change that preceded it, which this strongly consistent read therefore sees: either
    /// the Query finds the session or this read finds the change.
    async fn confirm_opened(
        &self,
        session: &Session,
        signed_in: Option<&Account>,
        claim: Option<&TransactWriteItem>,
    ) -> Result<(), WriteError> {
        let Some(user_id) = session.user_id else {
            return Ok(());
        };
        let employee = session.profiles.contains(&Profile::Employee);
        if signed_in.is_none() && !employee {
            return Ok(());
        }
        let (account, active) =
            futures_util::future::try_join(self.db.users().account(user_id), async {
                match employee {
                    true => Ok(self.db.employees().find(user_id).await?.map(|e| e.active)),
                    false => Ok(None),
                }
            })
            .await?;
        let refusal = match (account, signed_in) {
            (None, _) => WriteError::PasswordChanged,
            (Some(now), Some(then)) if now.password_hash != then.password_hash => {
                WriteError::PasswordChanged
            }
            _ if employee && active != Some(true) => WriteError::Deactivated,
            (Some(now), Some(then)) if !same_grants_basis(&now, then) => WriteError::GrantsChanged,
            _ => return Ok(()),
        };
        self.end(&session.token_hash).await?;
        if let Some(claim) = claim {
            let idempotency = self.db.idempotency();
            idempotency.release(claim, &session.token_hash).await?;
        }
        Err(refusal)
    }

    /// The steps that go with a new session of a user: the condition that the account
    /// exists (with its password still `proof`, if given), the session's listing and, for
    /// an employee, the condition that they are active.
    fn push_listing(
        &self,
        steps: &mut Steps,
        session: &Session,
        proof: Option<&str>,
    ) -> Result<(), StoreError> {
        if let Some(user_id) = session.user_id {
            steps.push(Step::Account, self.db.users().must_exist(user_id, proof)?);
            steps.push(Step::Session, self.list_step(user_id, session)?);
            if session.profiles.contains(&Profile::Employee) {
                let active = self.db.employees().must_be_active(user_id)?;
                steps.push(Step::EmployeeActive, active);
            }
        }
        Ok(())
    }

    /// Gives a live session a new token: the session stays what it is (its id, user,
    /// grants and times), its old token stops working, and `also(new_hash)` (the
    /// idempotency key's record following it) is written in the same transaction.
    /// `None` if the session has ended or expired, or the employee was deactivated (checked
    /// in the transaction and again after it, as `confirm_opened` says).
    pub async fn reissue(
        &self,
        token_hash: &str,
        now: i64,
        also: impl FnOnce(&str) -> Result<TransactWriteItem, StoreError>,
    ) -> Result<Option<(String, Session)>, WriteError> {
        let stored = self
            .client
            .get_item()
            .table_name(self.table)
            .key(attr::TOKEN_HASH, string(token_hash))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from)?;
        let Some(mut item) = stored.item else {
            return Ok(None);
        };
        let session = session_from(&item)?;
        if !session.is_live(now) {
            return Ok(None);
        }
        let token = tokens::generate(TokenKind::Session);
        let new_hash = tokens::hash(&token);
        item.insert(attr::TOKEN_HASH.into(), string(&new_hash));
        item.remove(super::WRITE_TOKEN);
        let mut e = Expression::default();
        let live = live_condition(&mut e, now);
        e.condition(live);
        let retire = e.delete_step(self.table, (attr::TOKEN_HASH, string(token_hash)))?;
        let put = put_new_step(self.table, item, attr::TOKEN_HASH)?;
        let mut steps = Steps::default();
        steps.push(Step::Session, retire);
        steps.push(Step::Record, put);
        if let Some(user_id) = session.user_id {
            steps.push(Step::Session, self.unlist_step(user_id, token_hash)?);
        }
        self.push_listing(
            &mut steps,
            &Session {
                token_hash: new_hash.clone(),
                ..session.clone()
            },
            None,
        )?;
        steps.push(Step::IdempotencyKey, also(&new_hash)?);
        match steps.run(self.client, &PRIORITY).await? {
            Outcome::Written => {
                let reissued = Session {
                    token_hash: new_hash,
                    ..session
                };
                match self.confirm_opened(&reissued, None, None).await {
                    Ok(()) => Ok(Some((token, reissued))),
                    Err(WriteError::Deactivated | WriteError::PasswordChanged) => Ok(None),
                    Err(error) => Err(error),
                }
            }
            Outcome::Refused {
                step: Step::Session,
                ..
            } => Ok(None),
            Outcome::Refused {
                step: Step::IdempotencyKey,
                ..
            } => Err(WriteError::KeyClaimed),
            // The employee was deactivated or the account removed: the session is over.
            Outcome::Refused {
                step: Step::EmployeeActive | Step::Account,
                ..
            } => Ok(None),
            Outcome::Conflict => Err(StoreError::Busy("reissuing a session").into()),
            Outcome::Refused { .. } => {
                Err(StoreError::Malformed("a session with this token exists".into()).into())
            }
        }
    }

    /// Ends one session (signing out), and takes it off its user's listing. Returns
    /// whether it existed.
    pub async fn end(&self, token_hash: &str) -> Result<bool, StoreError> {
        let output = send_through_conflicts("ending a session", || {
            self.client
                .delete_item()
                .table_name(self.table)
                .key(attr::TOKEN_HASH, string(token_hash))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
        })
        .await??;
        let Some(old) = output.attributes() else {
            return Ok(false);
        };
        if let Some(user_id) = Reader(old).opt_num(attr::USER_ID)? {
            self.unlist(user_id, &[token_hash.to_owned()]).await?;
        }
        Ok(true)
    }

    /// The writes that replace `session` with `new` (a new token for the same caller,
    /// once it acts for someone else): the old one ends, on condition that it is still
    /// live and still the same caller's, and the new one is written (for an employee, on
    /// condition that they are still active), each listing with it. For the transaction
    /// that changes what the caller is, which also writes the account.
    pub fn rotate(
        &self,
        session: &Session,
        new: &Session,
    ) -> Result<Vec<(Step, TransactWriteItem)>, StoreError> {
        let mut e = Expression::default();
        let user = e.name(attr::USER_ID);
        let owner = match session.user_id {
            Some(user_id) => {
                let user_id = e.value(number(user_id));
                format!("{user} = {user_id}")
            }
            None => format!("attribute_not_exists({user})"),
        };
        // The new session is last used now.
        let live = live_condition(&mut e, new.last_used_at);
        e.condition(format!("{live} AND {owner}"));
        let end = e.delete_step(self.table, (attr::TOKEN_HASH, string(&session.token_hash)))?;
        let mut steps = vec![
            (Step::Session, end),
            (
                Step::Session,
                put_new_step(self.table, item_of(new), attr::TOKEN_HASH)?,
            ),
        ];
        if let Some(user_id) = session.user_id {
            steps.push((
                Step::Session,
                self.unlist_step(user_id, &session.token_hash)?,
            ));
        }
        if let Some(user_id) = new.user_id {
            steps.push((Step::Session, self.list_step(user_id, new)?));
        }
        if let Some(user_id) = new
            .user_id
            .filter(|_| new.profiles.contains(&Profile::Employee))
        {
            let active = self.db.employees().must_be_active(user_id)?;
            steps.push((Step::EmployeeActive, active));
        }
        Ok(steps)
    }

    /// Gives every open session of a user their current grants, so that a change of
    /// role takes effect at once. Returns how many sessions were updated.
    pub async fn refresh_grants(&self, grants: &Grants) -> Result<usize, StoreError> {
        let mut refreshed = 0;
        for hash in self.listed(grants.user_id).await? {
            let mut e = Expression::default();
            set_grants(&mut e, grants);
            let name = e.name(attr::TOKEN_HASH);
            e.condition(format!("attribute_exists({name})"));
            match update_if(
                self.client,
                self.table,
                (attr::TOKEN_HASH, string(hash)),
                &e,
            )
            .await?
            {
                Conditional::Updated(_) => refreshed += 1,
                Conditional::Refused(_) => {} // ended meanwhile
            }
        }
        Ok(refreshed)
    }

    /// One page of sessions that an expiry index says are past `cutoff` (last use or
    /// creation, by index) in one shard. The index is eventually consistent, so the
    /// delete re-checks.
    pub async fn expiry_candidates(
        &self,
        index: &str,
        shard: u32,
        cutoff: i64,
        start: Option<Item>,
    ) -> Result<(Vec<AttributeValue>, Option<Item>), StoreError> {
        let sort_key = if index == IDLE_INDEX {
            attr::LAST_USED_AT
        } else {
            attr::CREATED_AT
        };
        let page = self
            .client
            .query()
            .table_name(self.table)
            .index_name(index)
            .key_condition_expression("#shard = :shard AND #at < :cutoff")
            .expression_attribute_names("#shard", attr::EXPIRY_SHARD)
            .expression_attribute_names("#at", sort_key)
            .expression_attribute_values(":shard", string(shard.to_string()))
            .expression_attribute_values(":cutoff", number(cutoff))
            .limit(100)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let hashes = page
            .items()
            .iter()
            .filter_map(|item| item.get(attr::TOKEN_HASH).cloned())
            .collect();
        Ok((hashes, page.last_evaluated_key().cloned()))
    }

    /// Deletes a session if it is expired at `now`: the condition is the exact opposite of
    /// the one that lets a session be used, so a session used meanwhile, a `remember_me`
    /// one, or one already deleted by a concurrent run is left alone. Returns whether it
    /// deleted.
    pub async fn delete_if_expired(
        &self,
        token_hash: AttributeValue,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut e = Expression::default();
        let (hash, remember, created, used) = (
            e.name(attr::TOKEN_HASH),
            e.name(attr::REMEMBER_ME),
            e.name(attr::CREATED_AT),
            e.name(attr::LAST_USED_AT),
        );
        let (no, oldest_creation, oldest_use) = (
            e.value(AttributeValue::Bool(false)),
            e.value(number(now - ABSOLUTE_LIFETIME)),
            e.value(number(now - IDLE_LIFETIME)),
        );
        e.condition(format!(
            "attribute_exists({hash}) AND (attribute_not_exists({remember}) OR {remember} = {no}) \
             AND ({created} < {oldest_creation} OR {used} < {oldest_use})"
        ));
        let result = send_through_conflicts("deleting an expired session", || {
            self.client
                .delete_item()
                .table_name(self.table)
                .key(attr::TOKEN_HASH, token_hash.clone())
                .set_condition_expression(e.condition_expression())
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
        })
        .await?;
        match result {
            Ok(output) => {
                let old = output.attributes().map(Reader);
                if let (Some(old), Some(AttributeValue::S(hash))) = (
                    old,
                    output
                        .attributes()
                        .and_then(|item| item.get(attr::TOKEN_HASH)),
                ) {
                    if let Some(user_id) = old.opt_num(attr::USER_ID)? {
                        self.unlist(user_id, std::slice::from_ref(hash)).await?;
                    }
                }
                Ok(true)
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Ends every session of a user (on deactivation or sign-out everywhere), as the
    /// account's listing has them (a consistent read: every session opened before it is
    /// there), and takes them off it. Returns how many there were.
    pub async fn end_all_for_user(&self, user_id: i64) -> Result<usize, StoreError> {
        self.end_all_for_user_but(user_id, None).await
    }

    /// [`Sessions::end_all_for_user`] with its `audit` record (for an operator's ending,
    /// the count filled in here): the sessions' deletes, their listings' and the record,
    /// in one transaction. An account listing more sessions than a transaction holds ends
    /// them in several, the record with the first, which carries the whole count. Returns
    /// how many the account listed.
    pub async fn end_all_for_user_recorded(
        &self,
        user_id: i64,
        audit: &AuditEntry,
    ) -> Result<usize, StoreError> {
        let hashes = self.listed(user_id).await?;
        let entry = AuditEntry {
            count: Some(hashes.len() as i64),
            ..audit.clone()
        };
        if hashes.is_empty() {
            return self.db.audit().record(&entry).await.map(|()| 0);
        }
        let mut record = Some(entry);
        for chunk in hashes.chunks(ENDINGS_PER_TRANSACTION) {
            let mut steps = Steps::default();
            for hash in chunk {
                let key = (attr::TOKEN_HASH, string(hash));
                steps.push(
                    Step::Session,
                    Expression::default().delete_step(self.table, key)?,
                );
                steps.push(Step::Session, self.unlist_step(user_id, hash)?);
            }
            if let Some(entry) = record.take() {
                steps.push(Step::Audit, self.db.audit().put(&entry)?);
            }
            match steps.run(self.client, &PRIORITY).await? {
                Outcome::Written => {}
                Outcome::Conflict => return Err(StoreError::Busy("ending a user's sessions")),
                refused => {
                    return Err(StoreError::Malformed(format!(
                        "ending user {user_id}'s sessions was refused ({refused:?})"
                    )));
                }
            }
        }
        Ok(hashes.len())
    }

    /// [`Sessions::end_all_for_user`] but for the session `kept` (the caller's).
    pub async fn end_all_for_user_but(
        &self,
        user_id: i64,
        kept: Option<&str>,
    ) -> Result<usize, StoreError> {
        let mut hashes = self.listed(user_id).await?;
        hashes.retain(|hash| Some(hash.as_str()) != kept);
        let mut ended = 0;
        let (client, table) = (self.client, self.table);
        let mut deletes = futures_util::stream::iter(hashes.iter().cloned())
            .map(|hash| async move {
                send_through_conflicts("ending a user's sessions", || {
                    client
                        .delete_item()
                        .table_name(table)
                        .key(attr::TOKEN_HASH, string(&hash))
                        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                        .send()
                })
                .await
            })
            .buffer_unordered(CONCURRENT_WRITES);
        while let Some(deleted) = deletes.next().await {
            if deleted??.attributes().is_some() {
                ended += 1;
            }
        }
        self.unlist(user_id, &hashes).await?;
        Ok(ended)
    }

    fn listings(&self) -> &str {
        &self.db.tables.account_sessions
    }

    /// The transaction step that lists a user's new session on their account.
    fn list_step(&self, user_id: i64, session: &Session) -> Result<TransactWriteItem, StoreError> {
        let mut item = listing_key(user_id, &session.token_hash);
        if let Some(expires) = ttl_of(session) {
            item.insert(listing::EXPIRES.into(), number(expires));
        }
        let put = Put::builder()
            .table_name(self.listings())
            .set_item(Some(item))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The transaction step that takes a session off its user's listing.
    fn unlist_step(&self, user_id: i64, token_hash: &str) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(self.listings())
            .set_key(Some(listing_key(user_id, token_hash)))
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Takes ended sessions off their user's listing.
    async fn unlist(&self, user_id: i64, hashes: &[String]) -> Result<(), StoreError> {
        let (client, table) = (self.client, self.listings());
        let keys: Vec<Item> = hashes.iter().map(|h| listing_key(user_id, h)).collect();
        futures_util::stream::iter(keys)
            .map(|key| async move {
                send_through_conflicts("unlisting a session", || {
                    client
                        .delete_item()
                        .table_name(table)
                        .set_key(Some(key.clone()))
                        .send()
                })
                .await??;
                Ok::<_, StoreError>(())
            })
            .buffer_unordered(CONCURRENT_WRITES)
            .try_collect()
            .await
    }

    /// The hashes of the sessions a user's listing has, read consistently: every session
    /// opened before the read is there. Those an earlier release listed in the account's
    /// item move to the listing first.
    async fn listed(&self, user_id: i64) -> Result<Vec<String>, StoreError> {
        self.move_legacy_listing(user_id).await?;
        let (client, table) = (self.client, self.listings());
        let items = every_page(|start| async move {
            let page = client
                .query()
                .table_name(table)
                .key_condition_expression("#user = :user")
                .projection_expression("#hash")
                .expression_attribute_names("#user", listing::USER_ID)
                .expression_attribute_names("#hash", listing::TOKEN_HASH)
                .expression_attribute_values(":user", number(user_id))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
        })
        .await?;
        items
            .iter()
            .map(|item| Ok(Reader(item).str(listing::TOKEN_HASH)?.to_owned()))
            .collect()
    }

    /// Moves the sessions an earlier release listed in the account's item to the listing,
    /// those that still exist, each with its TTL (that list also kept sessions already
    /// signed out or cleaned up). The listings are written first and the list emptied
    /// after, so that a failure in between leaves a session listed twice, never unlisted;
    /// the next reading finishes the move.
    async fn move_legacy_listing(&self, user_id: i64) -> Result<(), StoreError> {
        let legacy = self.db.users().legacy_session_hashes(user_id).await?;
        if legacy.is_empty() {
            return Ok(());
        }
        let mut listings = Vec::new();
        for chunk in legacy.chunks(100) {
            let keys = chunk
                .iter()
                .map(|hash| Item::from([(attr::TOKEN_HASH.into(), string(hash))]))
                .collect();
            for item in super::batch_get(self.client, self.table, keys).await? {
                let session = session_from(&item)?;
                let mut listing = listing_key(user_id, &session.token_hash);
                if let Some(expires) = ttl_of(&session) {
                    listing.insert(listing::EXPIRES.into(), number(expires));
                }
                listings.push(listing);
            }
        }
        let (client, table) = (self.client, self.listings());
        futures_util::stream::iter(listings)
            .map(|listing| put(client, table, listing, "listing a session"))
            .buffer_unordered(CONCURRENT_WRITES)
            .try_collect::<()>()
            .await?;
        self.db
            .users()
            .forget_legacy_sessions(user_id, &legacy)
            .await
    }
}
