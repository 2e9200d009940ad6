//! Notifications for the team: failures that need a person to look (an email SES would
//! not send, say), with what failed, for whom and when, and what has been done since.
//!
//! A notification is open until it is resolved: by a retry that sent its email, or by an
//! operator with a note. Open ones carry `queue = "open"`, the key of the sparse
//! [`OPEN_INDEX`], so that the retry schedule and `notifications list --open` query them
//! without a Scan. A retry first claims the notification's next attempt with a
//! conditional write, so that one attempt sends at most one email however many runners
//! race for it.

use super::{
    Conditional, Expression, Item, Reader, StoreError, every_page, number, string, update_if,
};
use crate::domain::SecurityNotice;
use crate::tokens;
use aws_sdk_dynamodb::Client;
use serde::Serialize;

/// The sparse index of open notifications, oldest first.
pub const OPEN_INDEX: &str = "open-by-creation";
const QUEUE: &str = "queue";
const OPEN: &str = "open";

/// Which email failed, when one did: it says whether a retry can send it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedEmail {
    /// A new employee's welcome: it can be sent again from the employee's record.
    Welcome,
    /// A password reset link: its token exists only as a hash, so it cannot be sent
    /// again; the person asks for a new one.
    PasswordReset,
    /// A security notice: it holds no secret, so it is sent again to its recipient.
    Security(SecurityNotice),
}

const SECURITY_PREFIX: &str = "security-notice:";

impl FailedEmail {
    pub fn slug(self) -> String {
        match self {
            FailedEmail::Welcome => "welcome".to_owned(),
            FailedEmail::PasswordReset => "password-reset".to_owned(),
            FailedEmail::Security(notice) => format!("{SECURITY_PREFIX}{}", notice.slug()),
        }
    }

    fn from_slug(slug: &str) -> Option<FailedEmail> {
        match slug {
            "welcome" => Some(FailedEmail::Welcome),
            "password-reset" => Some(FailedEmail::PasswordReset),
            other => other
                .strip_prefix(SECURITY_PREFIX)
                .and_then(SecurityNotice::from_slug)
                .map(FailedEmail::Security),
        }
    }

    /// Whether the retry schedule sends it again.
    pub fn retried(self) -> bool {
        !matches!(self, FailedEmail::PasswordReset)
    }
}

impl Serialize for FailedEmail {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.slug())
    }
}

pub struct Notification<'a> {
    /// What failed, as a slug: `email-send-failed`.
    pub kind: &'a str,
    /// The record concerned, e.g. `employee:42`.
    pub subject: &'a str,
    pub recipient: Option<&'a str>,
    pub email: Option<FailedEmail>,
    /// The error as the failing service reported it.
    pub detail: &'a str,
}

/// A stored notification, as the team reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub recipient: Option<String>,
    pub email: Option<FailedEmail>,
    pub detail: String,
    pub created_at: i64,
    pub open: bool,
    /// Retries made so far (the first send is not one).
    pub attempts: i64,
    /// When the retry schedule may try again, while open.
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub resolved_at: Option<i64>,
    /// How it was closed: "sent on retry 2", or the operator's note.
    pub resolution: Option<String>,
}

impl Record {
    fn read(item: &Item) -> Result<Record, StoreError> {
        let r = Reader(item);
        let owned = |name: &str| r.opt_str(name).map(str::to_owned);
        Ok(Record {
            id: r.str("id")?.to_owned(),
            kind: r.str("kind")?.to_owned(),
            subject: r.str("subject")?.to_owned(),
            recipient: owned("recipient"),
            email: r.opt_str("email").and_then(FailedEmail::from_slug),
            detail: r.str("detail")?.to_owned(),
            created_at: r.num("created_at")?,
            open: r.opt_str(QUEUE) == Some(OPEN),
            attempts: r.opt_num("attempts")?.unwrap_or(0),
            next_attempt_at: r.opt_num("next_attempt_at")?,
            last_attempt_at: r.opt_num("last_attempt_at")?,
            last_error: owned("last_error"),
            resolved_at: r.opt_num("resolved_at")?,
            resolution: owned("resolution"),
        })
    }

    /// The employee whose welcome this is, when it is one.
    pub fn welcome_for(&self) -> Option<i64> {
        if self.email != Some(FailedEmail::Welcome) {
            return None;
        }
        self.subject.strip_prefix("employee:")?.parse().ok()
    }
}

/// What a claim on a notification's next attempt found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This caller holds attempt `attempt` until `until`: it sends, then records.
    Claimed { attempt: i64 },
    /// Another runner holds or made this attempt, or the notification was closed.
    Taken,
}

pub struct Notifications<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Notifications<'_> {
    /// Stores an open notification and returns its id; `first_retry_at` is when the retry
    /// schedule may first try again, if ever.
    pub async fn record(
        &self,
        notification: &Notification<'_>,
        now: i64,
        first_retry_at: Option<i64>,
    ) -> Result<String, StoreError> {
        let id = tokens::random_id();
        let mut item = Item::from([
            ("id".into(), string(&id)),
            ("kind".into(), string(notification.kind)),
            ("subject".into(), string(notification.subject)),
            ("detail".into(), string(notification.detail)),
            ("created_at".into(), number(now)),
            (QUEUE.into(), string(OPEN)),
            ("attempts".into(), number(0)),
        ]);
        if let Some(at) = first_retry_at {
            item.insert("next_attempt_at".into(), number(at));
        }
        if let Some(recipient) = notification.recipient {
            item.insert("recipient".into(), string(recipient));
        }
        if let Some(email) = notification.email {
            item.insert("email".into(), string(email.slug()));
        }
        super::put(self.client, self.table, item, "recording a notification").await?;
        Ok(id)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key("id", string(id))
            .consistent_read(true)
            .send()
            .await?;
        output.item.as_ref().map(Record::read).transpose()
    }

    /// The open notifications, oldest first, through the sparse index.
    pub async fn open(&self) -> Result<Vec<Record>, StoreError> {
        let items = every_page(|start| async move {
            let output = self
                .client
                .query()
                .table_name(self.table)
                .index_name(OPEN_INDEX)
                .key_condition_expression("#queue = :open")
                .expression_attribute_names("#queue", QUEUE)
                .expression_attribute_values(":open", string(OPEN))
                .set_exclusive_start_key(start)
                .send()
                .await?;
            Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
        })
        .await?;
        items.iter().map(Record::read).collect()
    }

    /// Every notification, newest first. A Scan: for the operator, off every request
    /// path, over a table that holds only failures.
    pub async fn all(&self) -> Result<Vec<Record>, StoreError> {
        let items = every_page(|start| async move {
            let output = self
                .client
                .scan()
                .table_name(self.table)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
        })
        .await?;
        let mut records = items
            .iter()
            .map(Record::read)
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(records)
    }

    /// Claims the attempt after the `seen` ones, for `lease` seconds: it holds only if
    /// the notification is still open, no other attempt was made since it was read, and
    /// no other runner's claim is current. A runner that claimed and then died leaves a
    /// claim that lapses, and the next attempt is another's.
    pub async fn claim(
        &self,
        id: &str,
        seen: i64,
        now: i64,
        lease: i64,
    ) -> Result<Claim, StoreError> {
        let mut e = Expression::default();
        let (queue, open) = (e.name(QUEUE), e.value(string(OPEN)));
        let (attempts, seen_value) = (e.name("attempts"), e.value(number(seen)));
        let (claimed, now_value) = (e.name("claimed_until"), e.value(number(now)));
        e.condition(format!("{queue} = {open}"))
            .condition(format!("{attempts} = {seen_value}"))
            .condition(format!(
                "attribute_not_exists({claimed}) OR {claimed} <= {now_value}"
            ))
            .set("attempts", number(seen + 1))
            .set("claimed_until", number(now + lease))
            .set("last_attempt_at", number(now));
        Ok(
            match update_if(self.client, self.table, ("id", string(id)), &e).await? {
                Conditional::Updated(_) => Claim::Claimed { attempt: seen + 1 },
                Conditional::Refused(_) => Claim::Taken,
            },
        )
    }

    /// Closes a notification whose claimed attempt sent the email.
    pub async fn sent(&self, id: &str, attempt: i64, now: i64) -> Result<(), StoreError> {
        self.close(id, now, &format!("sent on retry {attempt}"))
            .await
            .map(drop)
    }

    /// Records a claimed attempt that failed: the error, when the schedule may try again
    /// (`None`: never, the team's to handle), and the claim released.
    pub async fn failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut e = Expression::default();
        let (queue, open) = (e.name(QUEUE), e.value(string(OPEN)));
        e.condition(format!("{queue} = {open}"))
            .set("last_error", string(error))
            .remove("claimed_until");
        match next_attempt_at {
            Some(at) => e.set("next_attempt_at", number(at)),
            None => e.remove("next_attempt_at"),
        };
        update_if(self.client, self.table, ("id", string(id)), &e).await?;
        Ok(())
    }

    /// Closes an open notification with a note. `false` when it is not open (closed
    /// already, or no such notification).
    pub async fn close(&self, id: &str, now: i64, resolution: &str) -> Result<bool, StoreError> {
        let mut e = Expression::default();
        let (queue, open) = (e.name(QUEUE), e.value(string(OPEN)));
        e.condition(format!("{queue} = {open}"))
            .remove(QUEUE)
            .remove("claimed_until")
            .remove("next_attempt_at")
            .set("resolved_at", number(now))
            .set("resolution", string(resolution));
        Ok(matches!(
            update_if(self.client, self.table, ("id", string(id)), &e).await?,
            Conditional::Updated(_)
        ))
    }
}
