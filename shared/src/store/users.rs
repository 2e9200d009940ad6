//! Users: the account behind a person's records. It holds the user's role in each
//! application, the kinds of records they have and their password hash; the email
//! address lives in the records and in the `Emails` table, which keeps it unique.

use super::roles::Roles;
use super::sessions::Grants;
use super::{Conditional, Expression, Item, Reader, StoreError, number, string, update_if};
use crate::authorise::Application;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use std::collections::HashMap;

/// The kinds of records that give a user a place in PlanoAuth.
pub const PROFILE_EMPLOYEE: &str = "employee";
pub const PROFILE_CLIENT: &str = "client";

/// A user account as sign-in needs it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    /// An argon2id PHC string; `None` for an account that cannot sign in with a password.
    pub password_hash: Option<String>,
    /// The user's role in each application, by application slug.
    pub roles: HashMap<String, String>,
    pub profiles: Vec<String>,
    /// Failed sign-ins in the hour `failed_sign_ins_hour` (Unix hours).
    pub failed_sign_ins: i64,
    pub failed_sign_ins_hour: i64,
}

impl Account {
    fn from_item(item: &Item) -> Result<Account, StoreError> {
        let read = Reader(item);
        let roles = read
            .map("roles")
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|(app, role)| Some((app.clone(), role.as_s().ok()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Account {
            id: read.num("id")?,
            password_hash: read.opt_str("password_hash").map(str::to_owned),
            roles,
            profiles: read.strings("profiles"),
            failed_sign_ins: read.opt_num("failed_sign_ins")?.unwrap_or(0),
            failed_sign_ins_hour: read.opt_num("failed_sign_ins_hour")?.unwrap_or(0),
        })
    }

    /// Failed sign-ins counted against the hour that contains `now`.
    pub fn failures_this_hour(&self, now: i64) -> i64 {
        if self.failed_sign_ins_hour == now.div_euclid(3600) {
            self.failed_sign_ins
        } else {
            0
        }
    }
}

pub struct NewUser<'a> {
    pub id: i64,
    pub roles: &'a [(Application, &'a str)],
    pub profiles: &'a [&'a str],
    /// An argon2id PHC string; never the password.
    pub password_hash: Option<&'a str>,
}

pub struct Users<'a> {
    pub client: &'a Client,
    pub table: &'a str,
    pub roles_table: &'a str,
}

impl Users<'_> {
    /// The write that creates a user, for a transaction that also creates their record.
    pub fn put(&self, user: &NewUser<'_>, now: i64) -> Result<TransactWriteItem, StoreError> {
        let mut item = Item::from([
            ("id".into(), number(user.id)),
            ("created_at".into(), number(now)),
            (
                "roles".into(),
                AttributeValue::M(
                    user.roles
                        .iter()
                        .map(|(app, role)| (app.slug().to_owned(), string(*role)))
                        .collect(),
                ),
            ),
        ]);
        if !user.profiles.is_empty() {
            item.insert(
                "profiles".into(),
                AttributeValue::Ss(user.profiles.iter().map(|p| (*p).to_owned()).collect()),
            );
        }
        if let Some(hash) = user.password_hash {
            item.insert("password_hash".into(), string(hash));
        }
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The account with this id, read consistently.
    pub async fn account(&self, user_id: i64) -> Result<Option<Account>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key("id", number(user_id))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(Account::from_item).transpose()
    }

    /// What a session of this user may do: their records and, per application, the
    /// permissions of their role. `None` if there is no such user.
    pub async fn grants(&self, user_id: i64) -> Result<Option<Grants>, StoreError> {
        match self.account(user_id).await? {
            Some(account) => Ok(Some(self.grants_of(&account).await?)),
            None => Ok(None),
        }
    }

    /// The grants of an account already read.
    pub async fn grants_of(&self, account: &Account) -> Result<Grants, StoreError> {
        let roles = Roles {
            client: self.client,
            table: self.roles_table,
        };
        Ok(Grants {
            user_id: account.id,
            profiles: account.profiles.clone(),
            permissions: roles.permissions(&account.roles).await?,
        })
    }

    /// Counts a failed sign-in in the current hour's window: the window restarts each
    /// hour, so a stranger's failures lock an account out until the hour ends at most.
    pub async fn record_failed_sign_in(&self, user_id: i64, now: i64) -> Result<(), StoreError> {
        let hour = now.div_euclid(3600);
        for _ in 0..3 {
            let mut same_hour = Expression::default();
            same_hour.add("failed_sign_ins", number(1));
            let (window, current) = (
                same_hour.name("failed_sign_ins_hour"),
                same_hour.value(number(hour)),
            );
            same_hour.condition(format!("{window} = {current}"));
            if let Conditional::Updated(_) =
                update_if(self.client, self.table, ("id", number(user_id)), &same_hour).await?
            {
                return Ok(());
            }
            let mut new_hour = Expression::default();
            new_hour
                .set("failed_sign_ins", number(1))
                .set("failed_sign_ins_hour", number(hour));
            let (id, window, current) = (
                new_hour.name("id"),
                new_hour.name("failed_sign_ins_hour"),
                new_hour.value(number(hour)),
            );
            new_hour.condition(format!("attribute_exists({id}) AND (attribute_not_exists({window}) OR {window} < {current})"));
            match update_if(self.client, self.table, ("id", number(user_id)), &new_hour).await? {
                Conditional::Updated(_) | Conditional::Refused(None) => return Ok(()),
                // Another request opened this hour's window first: count in it.
                Conditional::Refused(Some(_)) => {}
            }
        }
        Ok(())
    }

    /// Gives a user `role` in `application`. Returns false if there is no such user.
    /// Open sessions keep their grants until [`Sessions::refresh_grants`] updates them.
    ///
    /// [`Sessions::refresh_grants`]: super::sessions::Sessions::refresh_grants
    pub async fn grant(
        &self,
        user_id: i64,
        application: Application,
        role: &str,
    ) -> Result<bool, StoreError> {
        let mut e = Expression::default();
        e.set_entry("roles", application.slug(), string(role));
        let roles = e.name("roles");
        e.condition(format!("attribute_exists({roles})"));
        Ok(matches!(
            update_if(self.client, self.table, ("id", number(user_id)), &e).await?,
            Conditional::Updated(_)
        ))
    }

    /// The users who hold `role` in `application`. This reads the whole table, so it is
    /// for the operator tool only, never a request path.
    pub async fn holders_of(
        &self,
        application: Application,
        role: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let mut holders = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(self.table)
                .filter_expression("#roles.#app = :role")
                .expression_attribute_names("#roles", "roles")
                .expression_attribute_names("#app", application.slug())
                .expression_attribute_values(":role", string(role))
                .projection_expression("id")
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items() {
                holders.push(Reader(item).num("id")?);
            }
            match page.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok(holders),
            }
        }
    }

    /// The write that adds a record's profile, its roles and a new password hash to an
    /// existing account, for the transaction that creates the record.
    pub fn add_profile(
        &self,
        user_id: i64,
        profile: &str,
        roles: &[(Application, &str)],
        password_hash: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.add("profiles", AttributeValue::Ss(vec![profile.to_owned()]));
        e.set("password_hash", string(password_hash));
        for (application, role) in roles {
            e.set_entry("roles", application.slug(), string(*role));
        }
        let roles = e.name("roles");
        e.condition(format!("attribute_exists({roles})"));
        let update = Update::builder()
            .table_name(self.table)
            .key("id", number(user_id))
            .set_update_expression(e.update_expression())
            .set_condition_expression(e.condition_expression())
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
