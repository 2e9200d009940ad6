//! Notifications for the team: failures that need a person to look (an email SES would
//! not send, say), with what failed, for whom and when.

use super::{Item, StoreError, number, string};
use crate::tokens;
use aws_sdk_dynamodb::Client;

pub struct Notification<'a> {
    /// What failed, as a slug: `email-send-failed`.
    pub kind: &'a str,
    /// The record concerned, e.g. `employee:42`.
    pub subject: &'a str,
    pub recipient: Option<&'a str>,
    /// The error as the failing service reported it.
    pub detail: &'a str,
}

pub struct Notifications<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Notifications<'_> {
    /// Stores a notification and returns its id.
    pub async fn record(
        &self,
        notification: &Notification<'_>,
        now: i64,
    ) -> Result<String, StoreError> {
        let id = tokens::random_id();
        let mut item = Item::from([
            ("id".into(), string(&id)),
            ("kind".into(), string(notification.kind)),
            ("subject".into(), string(notification.subject)),
            ("detail".into(), string(notification.detail)),
            ("created_at".into(), number(now)),
        ]);
        if let Some(recipient) = notification.recipient {
            item.insert("recipient".into(), string(recipient));
        }
        super::put(self.client, self.table, item, "recording a notification").await?;
        Ok(id)
    }
}
