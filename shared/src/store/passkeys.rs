//! Passkeys, by credential id (what an assertion names), each with its account's user id;
//! `by-user` lists an account's. The account's item counts them, in the same transaction
//! as each add and removal (the users store's steps).

use super::{Expression, Item, Reader, StoreError, every_page, number, put_new_step, string};
use crate::domain::Passkey;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

/// The index that lists an account's passkeys.
pub const USER_INDEX: &str = "by-user";

mod attr {
    pub const CREDENTIAL_ID: &str = "credential_id";
    pub const USER_ID: &str = "user_id";
    pub const NAME: &str = "name";
    pub const CREATED_AT: &str = "created_at";
    pub const LAST_USED_AT: &str = "last_used_at";
    pub const BACKED_UP: &str = "backed_up";
    pub const COUNTER: &str = "counter";
    pub const KEY: &str = "key";
}

pub struct Passkeys<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

fn item_of(passkey: &Passkey) -> Item {
    let mut item = Item::from([
        (attr::CREDENTIAL_ID.into(), string(&passkey.id)),
        (attr::USER_ID.into(), number(passkey.user_id)),
        (attr::NAME.into(), string(&passkey.name)),
        (attr::CREATED_AT.into(), number(passkey.created_at)),
        (
            attr::BACKED_UP.into(),
            AttributeValue::Bool(passkey.backed_up),
        ),
        (attr::COUNTER.into(), number(i64::from(passkey.counter))),
        (attr::KEY.into(), string(&passkey.key)),
    ]);
    if let Some(used) = passkey.last_used_at {
        item.insert(attr::LAST_USED_AT.into(), number(used));
    }
    item
}

fn passkey_from(item: &Item) -> Result<Passkey, StoreError> {
    let read = Reader(item);
    let counter = read.num(attr::COUNTER)?;
    Ok(Passkey {
        id: read.str(attr::CREDENTIAL_ID)?.to_owned(),
        user_id: read.num(attr::USER_ID)?,
        name: read.str(attr::NAME)?.to_owned(),
        created_at: read.num(attr::CREATED_AT)?,
        last_used_at: read.opt_num(attr::LAST_USED_AT)?,
        backed_up: read.bool(attr::BACKED_UP),
        counter: u32::try_from(counter)
            .map_err(|_| StoreError::Malformed(format!("a passkey's counter is {counter}")))?,
        key: read.str(attr::KEY)?.to_owned(),
    })
}

impl Passkeys<'_> {
    fn key(id: &str) -> (&'static str, AttributeValue) {
        (attr::CREDENTIAL_ID, string(id))
    }

    /// The passkey with this credential id, whoever's it is.
    pub async fn find(&self, id: &str) -> Result<Option<Passkey>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key(attr::CREDENTIAL_ID, string(id))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(passkey_from).transpose()
    }

    /// An account's passkeys, oldest first (the index is eventually consistent: a passkey
    /// added a moment ago may be missing for as long).
    pub async fn of_user(&self, user_id: i64) -> Result<Vec<Passkey>, StoreError> {
        let (client, table) = (self.client, self.table);
        let items = every_page(|start| async move {
            let page = client
                .query()
                .table_name(table)
                .index_name(USER_INDEX)
                .key_condition_expression("#user = :user")
                .expression_attribute_names("#user", attr::USER_ID)
                .expression_attribute_values(":user", number(user_id))
                .set_exclusive_start_key(start)
                .send()
                .await?;
            Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
        })
        .await?;
        let mut passkeys: Vec<Passkey> =
            items.iter().map(passkey_from).collect::<Result<_, _>>()?;
        passkeys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(passkeys)
    }

    /// The transaction step that stores a new passkey: refused if its credential id is
    /// known already (to this account or any other).
    pub fn add_step(&self, passkey: &Passkey) -> Result<TransactWriteItem, StoreError> {
        put_new_step(self.table, item_of(passkey), attr::CREDENTIAL_ID)
    }

    /// The transaction step that removes a passkey of `user_id`'s: refused if there is no
    /// such passkey of theirs.
    pub fn remove_step(&self, id: &str, user_id: i64) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        let (user, value) = (e.name(attr::USER_ID), e.value(number(user_id)));
        e.condition(format!("{user} = {value}"));
        e.delete_step(self.table, Passkeys::key(id))
    }

    /// The transaction step that records a sign-in with a passkey: its verifying key and
    /// counter as the sign-in left them, and when. On condition that the passkey is still
    /// there and its counter still below the new one (or, for an authenticator that keeps
    /// none, still none): of two sign-ins with one counter value, one stands.
    pub fn use_step(&self, used: &Passkey, now: i64) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.set(attr::KEY, string(&used.key))
            .set(attr::COUNTER, number(i64::from(used.counter)))
            .set(attr::BACKED_UP, AttributeValue::Bool(used.backed_up))
            .set(attr::LAST_USED_AT, number(now));
        let (id, counter) = (e.name(attr::CREDENTIAL_ID), e.name(attr::COUNTER));
        let new = e.value(number(i64::from(used.counter)));
        let rule = if used.counter == 0 { "=" } else { "<" };
        e.condition(format!("attribute_exists({id}) AND {counter} {rule} {new}"));
        e.update_step(self.table, Passkeys::key(&used.id))
    }
}
