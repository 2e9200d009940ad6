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
}

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
        self.client
            .put_item()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(token_hash)")
            .send()
            .await?;
        Ok((token, record))
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
    })
}
