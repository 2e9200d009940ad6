//! Client records: the people PlanoAuth's applications serve, keyed by their user's id.

use super::emails::Emails;
use super::sessions::{Grants, Session, Sessions};
use super::users::{NewUser, PROFILE_CLIENT, Users};
use super::{Item, Outcome, Reader, Step, Steps, StoreError, WriteError, number, string};
use crate::app::Tables;
use crate::authorise::Application;
use crate::clock::rfc3339;
use crate::values::Email;
use crate::view::View;
use aws_sdk_dynamodb::Client as DynamoDb;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub company: Option<String>,
    pub language: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    pub fn view(&self, view: View) -> Value {
        let mut shown = json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "company": self.company,
            "language": self.language,
        });
        if view == View::InternalApps {
            shown["created_at"] = json!(rfc3339(self.created_at));
            shown["updated_at"] = json!(rfc3339(self.updated_at));
        }
        shown
    }

    fn item(&self, email: &Email) -> Item {
        let mut item = Item::from([
            ("id".into(), number(self.id)),
            ("email".into(), string(&self.email)),
            ("email_normalized".into(), string(email.normalized())),
            ("first_name".into(), string(&self.first_name)),
            ("last_name".into(), string(&self.last_name)),
            ("phone".into(), string(&self.phone)),
            ("language".into(), string(&self.language)),
            ("created_at".into(), number(self.created_at)),
            ("updated_at".into(), number(self.updated_at)),
        ]);
        if let Some(company) = &self.company {
            item.insert("company".into(), string(company));
        }
        item
    }

    fn from_item(item: &Item) -> Result<Client, StoreError> {
        let read = Reader(item);
        Ok(Client {
            id: read.num("id")?,
            email: read.str("email")?.to_owned(),
            first_name: read.str("first_name")?.to_owned(),
            last_name: read.str("last_name")?.to_owned(),
            phone: read.str("phone")?.to_owned(),
            company: read.opt_str("company").map(str::to_owned),
            language: read.str("language")?.to_owned(),
            created_at: read.num("created_at")?,
            updated_at: read.num("updated_at")?,
        })
    }
}

/// A client registering: the record, the account it belongs to and the session that
/// acts for it from then on.
pub struct Registration<'a> {
    pub record: &'a Client,
    pub email: &'a Email,
    /// An argon2id PHC string; never the password.
    pub password_hash: &'a str,
    pub roles: &'a [(Application, &'a str)],
    /// Whether the account exists already (a user without records, signed in): the
    /// record, the role and the password are added to it.
    pub existing_account: bool,
    /// The session registering, and what it may do once the user is a client.
    pub session: Option<(&'a Session, &'a Grants)>,
}

pub struct Clients<'a> {
    pub client: &'a DynamoDb,
    pub tables: &'a Tables,
}

impl Clients<'_> {
    /// Registers a client as one transaction: the record, the account (created, or
    /// extended), the email claim, the registering session's new grants and, with
    /// `claim`, an idempotency key's claim. A failure leaves nothing behind.
    pub async fn register(
        &self,
        registration: &Registration<'_>,
        claim: Option<TransactWriteItem>,
    ) -> Result<(), WriteError> {
        let record = registration.record;
        let users = Users {
            client: self.client,
            table: &self.tables.users,
            roles_table: &self.tables.roles,
        };
        let emails = Emails {
            client: self.client,
            table: &self.tables.emails,
        };
        let normalized = registration.email.normalized();
        let put = Put::builder()
            .table_name(&self.tables.clients)
            .set_item(Some(record.item(registration.email)))
            .condition_expression("attribute_not_exists(id)")
            .build()
            .map_err(StoreError::from)?;
        let mut steps = Steps::default();
        steps.push(Step::Record, TransactWriteItem::builder().put(put).build());
        if registration.existing_account {
            steps.push(
                Step::Record,
                users.add_profile(
                    record.id,
                    PROFILE_CLIENT,
                    registration.roles,
                    registration.password_hash,
                )?,
            );
            steps.push(
                Step::EmailClaim,
                emails.claim_or_keep(&normalized, record.id)?,
            );
        } else {
            let account = NewUser {
                id: record.id,
                roles: registration.roles,
                profiles: &[PROFILE_CLIENT],
                password_hash: Some(registration.password_hash),
            };
            steps.push(Step::Record, users.put(&account, record.created_at)?);
            steps.push(Step::EmailClaim, emails.claim(&normalized, record.id)?);
        }
        if let Some((session, grants)) = registration.session {
            let sessions = Sessions {
                client: self.client,
                table: &self.tables.sessions,
            };
            steps.push(Step::Session, sessions.adopt(session, grants)?);
        }
        if let Some(claim) = claim {
            steps.push(Step::IdempotencyKey, claim);
        }
        match steps.run(self.client).await? {
            Outcome::Written => Ok(()),
            Outcome::Refused(Step::IdempotencyKey) => Err(WriteError::KeyClaimed),
            Outcome::Refused(Step::EmailClaim) => Err(WriteError::EmailTaken),
            // The session was registered or ended by another request meanwhile.
            Outcome::Refused(Step::Session) => Err(WriteError::SessionChanged),
            Outcome::Refused(Step::Record) if registration.existing_account => {
                Err(WriteError::AlreadyRegistered)
            }
            Outcome::Conflict => Err(emails
                .after_conflicts(registration.email, record.id, "registering a client")
                .await),
            refused => Err(StoreError::Malformed(format!(
                "registering user {} was refused ({refused:?})",
                record.id
            ))
            .into()),
        }
    }

    pub async fn find(&self, id: i64) -> Result<Option<Client>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.clients)
            .key("id", number(id))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(Client::from_item).transpose()
    }
}
