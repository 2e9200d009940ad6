//! Application tokens: how a trusted server calls as one of the applications. Each token
//! carries its own permissions; only its hash is stored.

use super::{Item, Reader, StoreError, number, string};
use crate::authorise::Application;
use crate::tokens::{self, TokenKind};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationToken {
    pub id: String,
    pub application: Application,
    pub name: String,
    pub permissions: Vec<String>,
    pub created_at: i64,
}

/// The index of an application's tokens, by token id: for listing, rotating, revoking.
pub const APPLICATION_INDEX: &str = "by-application";

pub struct ApplicationTokens<'a> {
    pub client: &'a Client,
    pub table: &'a str,
}

impl ApplicationTokens<'_> {
    /// The token's record, if the token is one. A strongly consistent read, so that a
    /// revoked token stops working at once.
    pub async fn find(&self, token: &str) -> Result<Option<ApplicationToken>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key("token_hash", string(tokens::hash(token)))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(from_item).transpose()
    }

    /// Issues a new token for an application and returns it with its record.
    pub async fn issue(
        &self,
        application: Application,
        name: &str,
        permissions: &[&str],
        now: i64,
    ) -> Result<(String, ApplicationToken), StoreError> {
        let token = tokens::generate(TokenKind::Application);
        let record = ApplicationToken {
            id: tokens::random_id(),
            application,
            name: name.to_owned(),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            created_at: now,
        };
        let mut item = Item::from([
            ("token_hash".into(), string(tokens::hash(&token))),
            ("token_id".into(), string(&record.id)),
            ("application".into(), string(application.slug())),
            ("name".into(), string(name)),
            ("created_at".into(), number(now)),
        ]);
        if !record.permissions.is_empty() {
            item.insert(
                "permissions".into(),
                AttributeValue::Ss(record.permissions.clone()),
            );
        }
        if !super::put_new(self.client, self.table, "token_hash", item).await? {
            return Err(StoreError::Malformed(
                "an application token with this hash exists".into(),
            ));
        }
        Ok((token, record))
    }
}

impl ApplicationTokens<'_> {
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
                .key("token_hash", hash.clone())
                .send()
        })
        .await??;
        Ok(true)
    }

    /// Replaces a token with a new one holding the same name and permissions, in one
    /// transaction: the old token stops working as the new one starts.
    pub async fn rotate(
        &self,
        application: Application,
        id: &str,
        now: i64,
    ) -> Result<Option<(String, ApplicationToken)>, StoreError> {
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
        item.insert("token_hash".into(), string(tokens::hash(&token)));
        item.insert("token_id".into(), string(tokens::random_id()));
        item.insert("created_at".into(), number(now));
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(self.table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(token_hash)")
            .build()?;
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(self.table)
            .set_key(Some(Item::from([(
                "token_hash".into(),
                old["token_hash"].clone(),
            )])))
            .condition_expression("attribute_exists(token_hash)")
            .build()?;
        self.client
            .transact_write_items()
            .transact_items(
                aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .put(put)
                    .build(),
            )
            .transact_items(
                aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .delete(delete)
                    .build(),
            )
            .send()
            .await?;
        Ok(Some((token, from_item(&item)?)))
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
            .and_then(|item| item.get("token_hash").cloned()))
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
            .expression_attribute_values(":application", string(application.slug()));
        query = match id {
            Some(id) => query
                .key_condition_expression("application = :application AND token_id = :id")
                .expression_attribute_values(":id", string(id)),
            None => query.key_condition_expression("application = :application"),
        };
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = query.clone().set_exclusive_start_key(start).send().await?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok(items),
            }
        }
    }
}

fn from_item(item: &Item) -> Result<ApplicationToken, StoreError> {
    let read = Reader(item);
    let application = read.str("application")?;
    Ok(ApplicationToken {
        id: read.str("token_id")?.to_owned(),
        application: Application::from_slug(application)
            .ok_or_else(|| StoreError::Malformed(format!("unknown application `{application}`")))?,
        name: read.opt_str("name").unwrap_or_default().to_owned(),
        permissions: read.strings("permissions"),
        created_at: read.opt_num("created_at")?.unwrap_or(0),
    })
}
