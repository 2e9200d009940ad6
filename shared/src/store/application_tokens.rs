//! Application tokens: how a trusted server calls as one of the applications. Each token
//! carries its own permissions; only its hash is stored.

use super::{Item, ItemKey, Reader, StoreError, every_page, number, put_new, put_new_step, string};
use crate::domain::{Application, ApplicationToken, Permission};
use crate::tokens::{self, TokenKind};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};

/// The index of an application's tokens, by token id: for listing, rotating, revoking.
pub const APPLICATION_INDEX: &str = "by-application";

mod attr {
    pub const TOKEN_HASH: &str = "token_hash";
    pub const TOKEN_ID: &str = "token_id";
    pub const APPLICATION: &str = "application";
    pub const NAME: &str = "name";
    pub const PERMISSIONS: &str = "permissions";
    pub const CREATED_AT: &str = "created_at";
}

pub struct ApplicationTokens<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl ApplicationTokens<'_> {
    /// The token's record, if the token is one. A strongly consistent read, so that a
    /// revoked token stops working at once.
    pub async fn find(&self, token: &str) -> Result<Option<ApplicationToken>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .set_key(Some(self.key_of(token).key))
            .consistent_read(true)
            .send()
            .await?;
        Self::from_read(output.item())
    }

    /// Where a token's item is, for a caller that reads it along with another.
    pub fn key_of(&self, token: &str) -> ItemKey {
        ItemKey {
            table: self.table.to_owned(),
            key: Item::from([(attr::TOKEN_HASH.into(), string(tokens::hash(token)))]),
        }
    }

    /// The token record in an item read at [`ApplicationTokens::key_of`].
    pub fn from_read(item: Option<&Item>) -> Result<Option<ApplicationToken>, StoreError> {
        item.map(from_item).transpose()
    }

    /// Issues a new token for an application and returns it with its record.
    pub async fn issue(
        &self,
        application: Application,
        name: &str,
        permissions: &[Permission],
        now: i64,
    ) -> Result<(String, ApplicationToken), StoreError> {
        let token = tokens::generate(TokenKind::Application);
        let record = ApplicationToken {
            id: tokens::random_id(),
            application,
            name: name.to_owned(),
            permissions: permissions.to_vec(),
            created_at: now,
        };
        let mut item = Item::from([
            (attr::TOKEN_HASH.into(), string(tokens::hash(&token))),
            (attr::TOKEN_ID.into(), string(&record.id)),
            (attr::APPLICATION.into(), string(application.slug())),
            (attr::NAME.into(), string(name)),
            (attr::CREATED_AT.into(), number(now)),
        ]);
        if !permissions.is_empty() {
            let names = permissions.iter().map(|p| p.name().to_owned()).collect();
            item.insert(attr::PERMISSIONS.into(), AttributeValue::Ss(names));
        }
        if !put_new(self.client, self.table, attr::TOKEN_HASH, item).await? {
            return Err(StoreError::Malformed(
                "an application token with this hash exists".into(),
            ));
        }
        Ok((token, record))
    }

    /// An application's tokens (their records: the tokens themselves are not kept).
    pub async fn list(
        &self,
        application: Application,
    ) -> Result<Vec<ApplicationToken>, StoreError> {
        self.items_of(application, None)
            .await?
            .iter()
            .map(from_item)
            .collect()
    }

    /// Revokes a token by its id: it is `invalid-token` at once. Returns false if there
    /// is no such token.
    pub async fn revoke(&self, application: Application, id: &str) -> Result<bool, StoreError> {
        let Some(hash) = self.hash_of(application, id).await? else {
            return Ok(false);
        };
        super::send_through_conflicts("revoking a token", || {
            self.client
                .delete_item()
                .table_name(self.table)
                .key(attr::TOKEN_HASH, hash.clone())
                .send()
        })
        .await??;
        Ok(true)
    }

    /// The steps of a token's rotation (see the use case `rotate_token`): the
    /// new token, with the old one's name and permissions, put; the old one deleted, on
    /// condition that it is still there. `None` if there is no such token; else the new
    /// token, its record and the two steps.
    pub async fn rotation(
        &self,
        application: Application,
        id: &str,
        now: i64,
    ) -> Result<Option<Rotation>, StoreError> {
        let Some(old) = self
            .items_of(application, Some(id))
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let token = tokens::generate(TokenKind::Application);
        let mut item = old.clone();
        item.insert(attr::TOKEN_HASH.into(), string(tokens::hash(&token)));
        item.insert(attr::TOKEN_ID.into(), string(tokens::random_id()));
        item.insert(attr::CREATED_AT.into(), number(now));
        let delete = Delete::builder()
            .table_name(self.table)
            .set_key(Some(Item::from([(
                attr::TOKEN_HASH.into(),
                Reader(&old).value(attr::TOKEN_HASH)?,
            )])))
            .condition_expression("attribute_exists(#hash)")
            .expression_attribute_names("#hash", attr::TOKEN_HASH)
            .build()?;
        Ok(Some(Rotation {
            token,
            record: from_item(&item)?,
            put: put_new_step(self.table, item, attr::TOKEN_HASH)?,
            delete: TransactWriteItem::builder().delete(delete).build(),
        }))
    }

    async fn hash_of(
        &self,
        application: Application,
        id: &str,
    ) -> Result<Option<AttributeValue>, StoreError> {
        Ok(self
            .items_of(application, Some(id))
            .await?
            .into_iter()
            .next()
            .and_then(|item| item.get(attr::TOKEN_HASH).cloned()))
    }

    async fn items_of(
        &self,
        application: Application,
        id: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(self.table)
            .index_name(APPLICATION_INDEX)
            .expression_attribute_names("#application", attr::APPLICATION)
            .expression_attribute_values(":application", string(application.slug()));
        query = match id {
            Some(id) => query
                .key_condition_expression("#application = :application AND #id = :id")
                .expression_attribute_names("#id", attr::TOKEN_ID)
                .expression_attribute_values(":id", string(id)),
            None => query.key_condition_expression("#application = :application"),
        };
        every_page(|start| {
            let page = query.clone().set_exclusive_start_key(start);
            async move {
                let page = page.send().await?;
                Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
            }
        })
        .await
    }
}

/// A token's rotation, to write as one transaction.
pub struct Rotation {
    /// The new token: shown once, stored only as its hash.
    pub token: String,
    pub record: ApplicationToken,
    pub put: TransactWriteItem,
    pub delete: TransactWriteItem,
}

fn from_item(item: &Item) -> Result<ApplicationToken, StoreError> {
    let read = Reader(item);
    let application = read.str(attr::APPLICATION)?;
    Ok(ApplicationToken {
        id: read.str(attr::TOKEN_ID)?.to_owned(),
        application: Application::from_slug(application)
            .ok_or_else(|| StoreError::Malformed(format!("unknown application `{application}`")))?,
        name: read.opt_str(attr::NAME).unwrap_or_default().to_owned(),
        permissions: read
            .strings(attr::PERMISSIONS)
            .iter()
            .filter_map(|name| Permission::from_name(name))
            .collect(),
        created_at: read.opt_num(attr::CREATED_AT)?.unwrap_or(0),
    })
}
