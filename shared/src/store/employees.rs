//! Employee records (photographers among them), keyed by their user's id.
//!
//! An update costs one UpdateItem when the email address and the service area stay as
//! they are: its condition says so, and checks the hire/off-boarding order against the
//! stored dates. When that condition fails, DynamoDB returns the stored record, and the
//! update is redone as one transaction that also moves the email claim and checks the
//! new service area, guarded by the record's version so that nothing changed meanwhile.

use super::emails::Emails;
use super::reference::{Kind, Reference};
use super::users::{NewUser, PROFILE_EMPLOYEE, Users};
use super::{
    Conditional, Expression, Item, Outcome, Reader, Step, Steps, StoreError, number, string,
    update_if,
};
use crate::app::Tables;
use crate::authorise::Application;
use crate::clock::rfc3339;
use crate::params::Patch;
use crate::values::Email;
use crate::view::View;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde_json::{Value, json};
use std::time::Duration;

mod attr {
    pub const ID: &str = "id";
    pub const EMAIL: &str = "email";
    pub const EMAIL_NORMALIZED: &str = "email_normalized";
    pub const ACTIVE: &str = "active";
    pub const FIRST_NAME: &str = "first_name";
    pub const LAST_NAME: &str = "last_name";
    pub const LEGAL_NAME: &str = "legal_name";
    pub const PHONE: &str = "phone";
    pub const SERVICE_AREA_ID: &str = "service_area_id";
    pub const SKILLS: &str = "skills";
    pub const STREET: &str = "address_street";
    pub const STREET2: &str = "address_street2";
    pub const CITY: &str = "address_city";
    pub const STATE: &str = "address_state";
    pub const POSTAL_CODE: &str = "address_postal_code";
    pub const LONGITUDE: &str = "address_longitude";
    pub const LATITUDE: &str = "address_latitude";
    pub const DATE_HIRED: &str = "date_hired";
    pub const DATE_OFF_BOARDED: &str = "date_off_boarded";
    pub const EXTENSION: &str = "extension";
    pub const DEPARTMENT: &str = "department";
    pub const DESIGNATION_ID: &str = "designation_id";
    pub const LANGUAGE: &str = "language";
    pub const PHOTOGRAPHER: &str = "photographer";
    pub const CREATED_AT: &str = "created_at";
    pub const UPDATED_AT: &str = "updated_at";
    pub const VERSION: &str = "version";
}

/// How often a transactional update is retried when another write got there first.
const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Address {
    pub street: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Employee {
    pub id: i64,
    pub email: String,
    pub active: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub legal_name: Option<String>,
    pub phone: Option<String>,
    pub service_area_id: Option<i64>,
    pub skills: Vec<String>,
    pub address: Address,
    pub date_hired: Option<String>,
    pub date_off_boarded: Option<String>,
    pub extension: Option<i64>,
    pub department: Option<String>,
    pub designation_id: Option<i64>,
    pub language: Option<String>,
    pub photographer: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Employee {
    pub fn view(&self, view: View) -> Value {
        let mut shown = json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "active": self.active,
            "photographer": self.photographer,
            "skills": self.skills,
        });
        if view == View::InternalApps {
            let internal = json!({
                "legal_name": self.legal_name,
                "service_area_id": self.service_area_id,
                "address": self.address,
                "date_hired": self.date_hired,
                "date_off_boarded": self.date_off_boarded,
                "extension": self.extension,
                "department": self.department,
                "designation_id": self.designation_id,
                "language": self.language,
                "created_at": rfc3339(self.created_at),
                "updated_at": rfc3339(self.updated_at),
            });
            if let (Some(shown), Value::Object(internal)) = (shown.as_object_mut(), internal) {
                shown.extend(internal);
            }
        }
        shown
    }

    fn from_item(item: &Item) -> Result<Employee, StoreError> {
        let read = Reader(item);
        let text = |name| read.opt_str(name).map(str::to_owned);
        Ok(Employee {
            id: read.num(attr::ID)?,
            email: read.str(attr::EMAIL)?.to_owned(),
            active: read.bool(attr::ACTIVE),
            first_name: text(attr::FIRST_NAME),
            last_name: text(attr::LAST_NAME),
            legal_name: text(attr::LEGAL_NAME),
            phone: text(attr::PHONE),
            service_area_id: read.opt_num(attr::SERVICE_AREA_ID)?,
            skills: read.strings(attr::SKILLS),
            address: Address {
                street: text(attr::STREET),
                street2: text(attr::STREET2),
                city: text(attr::CITY),
                state: text(attr::STATE),
                postal_code: text(attr::POSTAL_CODE),
                longitude: text(attr::LONGITUDE),
                latitude: text(attr::LATITUDE),
            },
            date_hired: text(attr::DATE_HIRED),
            date_off_boarded: text(attr::DATE_OFF_BOARDED),
            extension: read.opt_num(attr::EXTENSION)?,
            department: text(attr::DEPARTMENT),
            designation_id: read.opt_num(attr::DESIGNATION_ID)?,
            language: text(attr::LANGUAGE),
            photographer: read.bool(attr::PHOTOGRAPHER),
            created_at: read.num(attr::CREATED_AT)?,
            updated_at: read.num(attr::UPDATED_AT)?,
        })
    }
}

/// Changes to an address, field by field; `address: null` clears every field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressChanges {
    pub street: Patch<String>,
    pub street2: Patch<String>,
    pub city: Patch<String>,
    pub state: Patch<String>,
    pub postal_code: Patch<String>,
    pub longitude: Patch<String>,
    pub latitude: Patch<String>,
}

impl AddressChanges {
    pub fn clear_all() -> Self {
        AddressChanges {
            street: Patch::Clear,
            street2: Patch::Clear,
            city: Patch::Clear,
            state: Patch::Clear,
            postal_code: Patch::Clear,
            longitude: Patch::Clear,
            latitude: Patch::Clear,
        }
    }
}

/// What an update changes besides the (required) email address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmployeeChanges {
    pub active: Option<bool>,
    pub service_area_id: Patch<i64>,
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub legal_name: Patch<String>,
    pub skills: Patch<Vec<String>>,
    pub phone: Patch<String>,
    pub address: AddressChanges,
    pub date_hired: Patch<String>,
    pub date_off_boarded: Patch<String>,
}

/// One attribute's change: a new value, or `None` to remove it.
type Edit = (&'static str, Option<AttributeValue>);

impl EmployeeChanges {
    fn edits(&self) -> Vec<Edit> {
        let mut edits = Vec::new();
        let mut text = |name, patch: &Patch<String>| match patch {
            Patch::Unchanged => {}
            Patch::Clear => edits.push((name, None)),
            Patch::Set(value) => edits.push((name, Some(string(value)))),
        };
        text(attr::FIRST_NAME, &self.first_name);
        text(attr::LAST_NAME, &self.last_name);
        text(attr::LEGAL_NAME, &self.legal_name);
        text(attr::PHONE, &self.phone);
        text(attr::STREET, &self.address.street);
        text(attr::STREET2, &self.address.street2);
        text(attr::CITY, &self.address.city);
        text(attr::STATE, &self.address.state);
        text(attr::POSTAL_CODE, &self.address.postal_code);
        text(attr::LONGITUDE, &self.address.longitude);
        text(attr::LATITUDE, &self.address.latitude);
        text(attr::DATE_HIRED, &self.date_hired);
        text(attr::DATE_OFF_BOARDED, &self.date_off_boarded);
        if let Some(active) = self.active {
            edits.push((attr::ACTIVE, Some(AttributeValue::Bool(active))));
        }
        match &self.service_area_id {
            Patch::Unchanged => {}
            Patch::Clear => edits.push((attr::SERVICE_AREA_ID, None)),
            Patch::Set(id) => edits.push((attr::SERVICE_AREA_ID, Some(number(*id)))),
        }
        match &self.skills {
            Patch::Unchanged => {}
            Patch::Clear => edits.push((attr::SKILLS, None)),
            Patch::Set(skills) => edits.push((
                attr::SKILLS,
                Some(AttributeValue::L(skills.iter().map(string).collect())),
            )),
        }
        edits
    }
}

/// Why a write to an employee was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("no employee has this id")]
    UnknownEmployee,
    #[error("the email address belongs to another user")]
    EmailTaken,
    #[error("no {} has this id or slug", .0.name())]
    UnknownReference(Kind),
    #[error("the off-boarding date is before the hiring date")]
    OffBoardedBeforeHired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new employee and the user account behind them.
pub struct NewEmployee<'a> {
    pub email: &'a Email,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub service_area_id: Option<i64>,
    pub extension: Option<i64>,
    pub department: Option<&'a str>,
    pub designation_id: Option<i64>,
    pub language: Option<&'a str>,
    pub photographer: bool,
    pub roles: &'a [(Application, &'a str)],
    pub password_hash: Option<&'a str>,
}

pub struct Employees<'a> {
    pub client: &'a Client,
    pub tables: &'a Tables,
}

impl Employees<'_> {
    fn emails(&self) -> Emails<'_> {
        Emails {
            client: self.client,
            table: &self.tables.emails,
        }
    }

    fn reference(&self) -> Reference<'_> {
        Reference {
            client: self.client,
            table: &self.tables.reference,
        }
    }

    /// Creates the user, the employee record and the email claim in one transaction,
    /// checking that every reference exists. `id` comes from the `users` counter.
    pub async fn create(
        &self,
        id: i64,
        new: &NewEmployee<'_>,
        now: i64,
    ) -> Result<Employee, WriteError> {
        let users = Users {
            client: self.client,
            table: &self.tables.users,
            roles_table: &self.tables.roles,
        };
        let mut item = Item::from([
            (attr::ID.into(), number(id)),
            (attr::EMAIL.into(), string(new.email.as_str())),
            (
                attr::EMAIL_NORMALIZED.into(),
                string(new.email.normalized()),
            ),
            (attr::ACTIVE.into(), AttributeValue::Bool(true)),
            (
                attr::PHOTOGRAPHER.into(),
                AttributeValue::Bool(new.photographer),
            ),
            (attr::CREATED_AT.into(), number(now)),
            (attr::UPDATED_AT.into(), number(now)),
            (attr::VERSION.into(), number(0)),
        ]);
        let texts = [
            (attr::FIRST_NAME, new.first_name),
            (attr::LAST_NAME, new.last_name),
            (attr::PHONE, new.phone),
            (attr::DEPARTMENT, new.department),
            (attr::LANGUAGE, new.language),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                item.insert(name.into(), string(value));
            }
        }
        let numbers = [
            (attr::SERVICE_AREA_ID, new.service_area_id),
            (attr::EXTENSION, new.extension),
            (attr::DESIGNATION_ID, new.designation_id),
        ];
        for (name, value) in numbers {
            if let Some(value) = value {
                item.insert(name.into(), number(value));
            }
        }
        let put = Put::builder()
            .table_name(&self.tables.employees)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(id)")
            .build()
            .map_err(StoreError::from)?;
        let user = NewUser {
            id,
            roles: new.roles,
            profiles: &[PROFILE_EMPLOYEE],
            password_hash: new.password_hash,
        };
        let mut steps = Steps::default();
        steps.push(Step::Record, users.put(&user, now)?);
        steps.push(Step::Record, TransactWriteItem::builder().put(put).build());
        steps.push(
            Step::EmailClaim,
            self.emails().claim(&new.email.normalized(), id)?,
        );
        let references = [
            (
                Kind::ServiceArea,
                new.service_area_id.map(|id| id.to_string()),
            ),
            (Kind::Department, new.department.map(str::to_owned)),
            (
                Kind::Designation,
                new.designation_id.map(|id| id.to_string()),
            ),
        ];
        for (kind, key) in references {
            if let Some(key) = key {
                steps.push(
                    Step::Reference(kind),
                    self.reference().must_exist(kind, &key)?,
                );
            }
        }
        match steps.run(self.client).await? {
            Outcome::Written => Ok(Employee::from_item(&item)?),
            Outcome::Refused(Step::EmailClaim) => Err(WriteError::EmailTaken),
            Outcome::Refused(Step::Reference(kind)) => Err(WriteError::UnknownReference(kind)),
            Outcome::Refused(Step::Record | Step::Session) | Outcome::Conflict => {
                Err(StoreError::Malformed(format!(
                    "user id {id} is already taken: the users counter is behind"
                ))
                .into())
            }
        }
    }

    /// Updates an employee; see the module documentation for how.
    pub async fn update(
        &self,
        id: i64,
        email: &Email,
        changes: &EmployeeChanges,
        now: i64,
    ) -> Result<Employee, WriteError> {
        if let (Patch::Set(hired), Patch::Set(off)) =
            (&changes.date_hired, &changes.date_off_boarded)
        {
            if off < hired {
                return Err(WriteError::OffBoardedBeforeHired);
            }
        }
        let edits = changes.edits();
        let mut e = Expression::default();
        e.set(attr::EMAIL, string(email.as_str()))
            .set(attr::UPDATED_AT, number(now))
            .add(attr::VERSION, number(1));
        for (name, edit) in &edits {
            match edit {
                Some(value) => e.set(name, value.clone()),
                None => e.remove(name),
            };
        }
        let (id_name, email_name, email_value) = (
            e.name(attr::ID),
            e.name(attr::EMAIL_NORMALIZED),
            e.value(string(email.normalized())),
        );
        e.condition(format!(
            "attribute_exists({id_name}) AND {email_name} = {email_value}"
        ));
        if let Patch::Set(area) = changes.service_area_id {
            let (name, value) = (e.name(attr::SERVICE_AREA_ID), e.value(number(area)));
            e.condition(format!("{name} = {value}"));
        }
        match (&changes.date_hired, &changes.date_off_boarded) {
            (Patch::Set(hired), Patch::Unchanged) => {
                let (off, hired) = (e.name(attr::DATE_OFF_BOARDED), e.value(string(hired)));
                e.condition(format!("attribute_not_exists({off}) OR {off} >= {hired}"));
            }
            (Patch::Unchanged, Patch::Set(off)) => {
                let (hired, off) = (e.name(attr::DATE_HIRED), e.value(string(off)));
                e.condition(format!("attribute_not_exists({hired}) OR {hired} <= {off}"));
            }
            _ => {}
        }
        let key = (attr::ID, number(id));
        match update_if(self.client, &self.tables.employees, key, &e).await? {
            Conditional::Updated(item) => Ok(Employee::from_item(&item)?),
            Conditional::Refused(Some(stored)) => {
                self.update_in_transaction(id, email, changes, &edits, stored, now)
                    .await
            }
            Conditional::Refused(None) => Err(WriteError::UnknownEmployee),
        }
    }

    async fn update_in_transaction(
        &self,
        id: i64,
        email: &Email,
        changes: &EmployeeChanges,
        edits: &[Edit],
        mut stored: Item,
        now: i64,
    ) -> Result<Employee, WriteError> {
        for attempt in 0..MAX_ATTEMPTS {
            let updated = apply(&stored, email, edits, now)?;
            let read = Reader(&updated);
            if let (Some(hired), Some(off)) = (
                read.opt_str(attr::DATE_HIRED),
                read.opt_str(attr::DATE_OFF_BOARDED),
            ) {
                if off < hired {
                    return Err(WriteError::OffBoardedBeforeHired);
                }
            }
            let mut steps = Steps::default();
            steps.push(Step::Record, self.put_if_unchanged(&stored, &updated)?);
            let old_email = Reader(&stored).str(attr::EMAIL_NORMALIZED)?.to_owned();
            let new_email = email.normalized();
            if old_email != new_email {
                steps.push(Step::Record, self.emails().release(&old_email, id)?);
                steps.push(Step::EmailClaim, self.emails().claim(&new_email, id)?);
            }
            if let Patch::Set(area) = changes.service_area_id {
                if Reader(&stored).opt_num(attr::SERVICE_AREA_ID)? != Some(area) {
                    steps.push(
                        Step::Reference(Kind::ServiceArea),
                        self.reference()
                            .must_exist(Kind::ServiceArea, &area.to_string())?,
                    );
                }
            }
            match steps.run(self.client).await? {
                Outcome::Written => return Ok(Employee::from_item(&updated)?),
                Outcome::Refused(Step::EmailClaim) => return Err(WriteError::EmailTaken),
                Outcome::Refused(Step::Reference(kind)) => {
                    return Err(WriteError::UnknownReference(kind));
                }
                // The record changed since it was read: read it again and redo the update.
                Outcome::Refused(Step::Record | Step::Session) | Outcome::Conflict => {
                    tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                    stored = match self.get(id).await? {
                        Some(item) => item,
                        None => return Err(WriteError::UnknownEmployee),
                    };
                }
            }
        }
        Err(StoreError::Malformed(format!(
            "employee {id} kept changing during {MAX_ATTEMPTS} attempts to update it"
        ))
        .into())
    }

    /// Replaces the stored record with `updated` unless someone wrote it since `stored`.
    fn put_if_unchanged(
        &self,
        stored: &Item,
        updated: &Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.tables.employees)
            .set_item(Some(updated.clone()))
            .condition_expression("version = :version")
            .expression_attribute_values(":version", number(Reader(stored).num(attr::VERSION)?))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub async fn get(&self, id: i64) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.employees)
            .key(attr::ID, number(id))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item)
    }

    pub async fn find(&self, id: i64) -> Result<Option<Employee>, StoreError> {
        self.get(id)
            .await?
            .as_ref()
            .map(Employee::from_item)
            .transpose()
    }
}

/// The stored record with the update applied, as the transaction will write it.
fn apply(stored: &Item, email: &Email, edits: &[Edit], now: i64) -> Result<Item, StoreError> {
    let mut item = stored.clone();
    let version = Reader(stored).num(attr::VERSION)?;
    item.insert(attr::EMAIL.into(), string(email.as_str()));
    item.insert(attr::EMAIL_NORMALIZED.into(), string(email.normalized()));
    item.insert(attr::UPDATED_AT.into(), number(now));
    item.insert(attr::VERSION.into(), number(version + 1));
    for (name, edit) in edits {
        match edit {
            Some(value) => item.insert((*name).into(), value.clone()),
            None => item.remove(*name),
        };
    }
    Ok(item)
}
