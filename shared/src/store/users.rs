//! Users: the account behind a person's records. It holds the user's role in each
//! application, the kinds of records they have and their password hash; the email
//! address lives in the records and in the `Emails` table, which keeps it unique.

use super::roles::Roles;
use super::sessions::Grants;
use super::{Item, Reader, StoreError, number, string};
use crate::authorise::Application;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use std::collections::HashMap;

/// The kinds of records that give a user a place in PlanoAuth.
pub const PROFILE_EMPLOYEE: &str = "employee";

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

    /// What a session of this user may do: their records and, per application, the
    /// permissions of their role. `None` if there is no such user.
    pub async fn grants(&self, user_id: i64) -> Result<Option<Grants>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key("id", number(user_id))
            .consistent_read(true)
            .send()
            .await?;
        let Some(item) = output.item() else {
            return Ok(None);
        };
        let read = Reader(item);
        let roles: HashMap<String, String> = read
            .map("roles")
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|(app, role)| Some((app.clone(), role.as_s().ok()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let roles_store = Roles {
            client: self.client,
            table: self.roles_table,
        };
        Ok(Some(Grants {
            user_id,
            profiles: read.strings("profiles"),
            permissions: roles_store.permissions(&roles).await?,
        }))
    }
}
