//! Employee records (photographers among them), keyed by their user's id.
//!
//! An update writes only the fields it changes, under conditions on only the fields it
//! depends on, so that concurrent updates of one record each apply rather than cancel
//! one another. It costs one UpdateItem when the email address and the service area stay
//! as they are: its condition says so, and checks the hire/off-boarding order against
//! the stored dates. When that condition fails, DynamoDB returns the stored record; a new
//! service area is checked against the reference data, and the update is redone as one
//! transaction that also moves the email claim, on condition that the address it
//! releases is still the record's.

use super::emails::Emails;
use super::reference::{Kind, KnownReferences, Reference};
use super::users::{NewUser, PROFILE_EMPLOYEE, Users};
use super::{
    Backoff, Conditional, Expression, Item, Outcome, Reader, Step, Steps, StoreError, WriteError,
    number, string, update_within,
};
use crate::app::Tables;
use crate::authorise::Application;
use crate::clock::rfc3339;
use crate::params::Patch;
use crate::values::Email;
use crate::view::View;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde_json::{Value, json};

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
}

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

/// What creating an employee takes besides their id: the record's first fields and the
/// user account behind it.
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
    /// An argon2id PHC string; never the password.
    pub password_hash: Option<&'a str>,
}

impl Employee {
    /// The record a new, active employee starts as.
    pub fn new(id: i64, new: &NewEmployee<'_>, now: i64) -> Employee {
        let text = |value: Option<&str>| value.map(str::to_owned);
        Employee {
            id,
            email: new.email.as_str().to_owned(),
            active: true,
            first_name: text(new.first_name),
            last_name: text(new.last_name),
            legal_name: None,
            phone: text(new.phone),
            service_area_id: new.service_area_id,
            skills: Vec::new(),
            address: Address::default(),
            date_hired: None,
            date_off_boarded: None,
            extension: new.extension,
            department: text(new.department),
            designation_id: new.designation_id,
            language: text(new.language),
            photographer: new.photographer,
            created_at: now,
            updated_at: now,
        }
    }

    fn item(&self, email: &Email) -> Item {
        let mut item = Item::from([
            (attr::ID.into(), number(self.id)),
            (attr::EMAIL.into(), string(&self.email)),
            (attr::EMAIL_NORMALIZED.into(), string(email.normalized())),
            (attr::ACTIVE.into(), AttributeValue::Bool(self.active)),
            (
                attr::PHOTOGRAPHER.into(),
                AttributeValue::Bool(self.photographer),
            ),
            (attr::CREATED_AT.into(), number(self.created_at)),
            (attr::UPDATED_AT.into(), number(self.updated_at)),
        ]);
        let texts = [
            (attr::FIRST_NAME, &self.first_name),
            (attr::LAST_NAME, &self.last_name),
            (attr::LEGAL_NAME, &self.legal_name),
            (attr::PHONE, &self.phone),
            (attr::STREET, &self.address.street),
            (attr::STREET2, &self.address.street2),
            (attr::CITY, &self.address.city),
            (attr::STATE, &self.address.state),
            (attr::POSTAL_CODE, &self.address.postal_code),
            (attr::LONGITUDE, &self.address.longitude),
            (attr::LATITUDE, &self.address.latitude),
            (attr::DATE_HIRED, &self.date_hired),
            (attr::DATE_OFF_BOARDED, &self.date_off_boarded),
            (attr::DEPARTMENT, &self.department),
            (attr::LANGUAGE, &self.language),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                item.insert(name.into(), string(value));
            }
        }
        let numbers = [
            (attr::SERVICE_AREA_ID, self.service_area_id),
            (attr::EXTENSION, self.extension),
            (attr::DESIGNATION_ID, self.designation_id),
        ];
        for (name, value) in numbers {
            if let Some(value) = value {
                item.insert(name.into(), number(value));
            }
        }
        if !self.skills.is_empty() {
            item.insert(
                attr::SKILLS.into(),
                AttributeValue::L(self.skills.iter().map(string).collect()),
            );
        }
        item
    }
}

pub struct Employees<'a> {
    pub client: &'a Client,
    pub tables: &'a Tables,
    pub known_references: &'a KnownReferences,
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
            known: self.known_references,
        }
    }

    /// Creates the user, the employee record and the email claim in one transaction,
    /// checking that every reference exists; with `claim` (an idempotency key's), in the
    /// same transaction. The user's id comes from the `users` counter, so the record and
    /// the account are new: the only conditions that can fail are the email's and the
    /// references'.
    pub async fn create(
        &self,
        employee: &Employee,
        new: &NewEmployee<'_>,
        claim: Option<TransactWriteItem>,
    ) -> Result<(), WriteError> {
        let references: Vec<(Kind, String)> = [
            (
                Kind::ServiceArea,
                employee.service_area_id.map(|id| id.to_string()),
            ),
            (Kind::Department, employee.department.clone()),
            (
                Kind::Designation,
                employee.designation_id.map(|id| id.to_string()),
            ),
        ]
        .into_iter()
        .filter_map(|(kind, key)| Some((kind, key?)))
        .collect();
        self.reference().check(&references).await?;
        let email = new.email;
        let account = NewUser {
            id: employee.id,
            roles: new.roles,
            profiles: &[PROFILE_EMPLOYEE],
            password_hash: new.password_hash,
        };
        let users = Users {
            client: self.client,
            table: &self.tables.users,
            roles_table: &self.tables.roles,
        };
        let put = Put::builder()
            .table_name(&self.tables.employees)
            .set_item(Some(employee.item(email)))
            .condition_expression("attribute_not_exists(id)")
            .build()
            .map_err(StoreError::from)?;
        let mut steps = Steps::default();
        steps.push(Step::Record, users.put(&account, employee.created_at)?);
        steps.push(Step::Record, TransactWriteItem::builder().put(put).build());
        steps.push(
            Step::EmailClaim,
            self.emails().claim(&email.normalized(), employee.id)?,
        );
        if let Some(claim) = claim {
            steps.push(Step::IdempotencyKey, claim);
        }
        match steps.run(self.client).await? {
            Outcome::Written => Ok(()),
            Outcome::Refused(Step::IdempotencyKey) => Err(WriteError::KeyClaimed),
            Outcome::Refused(Step::EmailClaim) => Err(WriteError::EmailTaken),
            Outcome::Conflict => Err(self
                .emails()
                .after_conflicts(email, employee.id, "creating an employee")
                .await),
            refused => Err(StoreError::Malformed(format!(
                "creating user {} was refused ({refused:?}): the users counter is behind",
                employee.id
            ))
            .into()),
        }
    }

    /// Updates an employee; see the module documentation for how. Returns the record as
    /// this update left it: what was stored when it was read, with the update applied.
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
        // A refusal means another update was written meanwhile: the record is free again,
        // so this one tries again at once with the record as it is now. Conflicts and
        // refusals share one budget.
        let mut backoff = Backoff::new();
        let mut known: Option<Item> = None;
        loop {
            let stored = match known.take() {
                Some(stored) if self.moves_claims(&stored, email, changes)? => stored,
                // Nothing but the record's own fields to write: one conditional update.
                _ => match self
                    .update_in_place(id, email, changes, &edits, now, &mut backoff)
                    .await?
                {
                    Conditional::Updated(item) => return Ok(Employee::from_item(&item)?),
                    Conditional::Refused(None) => return Err(WriteError::UnknownEmployee(id)),
                    Conditional::Refused(Some(stored)) => stored,
                },
            };
            let updated = apply(&stored, email, &edits, now);
            let read = Reader(&updated);
            if let (Some(hired), Some(off)) = (
                read.opt_str(attr::DATE_HIRED),
                read.opt_str(attr::DATE_OFF_BOARDED),
            ) {
                if off < hired {
                    return Err(WriteError::OffBoardedBeforeHired);
                }
            }
            if let Patch::Set(area) = changes.service_area_id {
                if Reader(&stored).opt_num(attr::SERVICE_AREA_ID)? != Some(area) {
                    self.reference()
                        .check(&[(Kind::ServiceArea, area.to_string())])
                        .await?;
                }
            }
            if !self.moves_claims(&stored, email, changes)? {
                // The record changed between the update and its refusal: try again.
                if backoff.expired() {
                    return Err(StoreError::Busy("updating an employee").into());
                }
                continue;
            }
            match self
                .transaction(id, email, changes, &edits, &stored, now)?
                .run_within(self.client, &mut backoff)
                .await?
            {
                Outcome::Written => return Ok(Employee::from_item(&updated)?),
                Outcome::Refused(Step::EmailClaim) => return Err(WriteError::EmailTaken),
                Outcome::Conflict => {
                    return Err(self
                        .emails()
                        .after_conflicts(email, id, "moving an employee's email claim")
                        .await);
                }
                // The address it releases is no longer the record's: DynamoDB handed back
                // the record as it is now.
                Outcome::RecordChanged(current) => {
                    if backoff.expired() {
                        return Err(StoreError::Busy("updating an employee").into());
                    }
                    known = Some(current);
                }
                // With no record handed back: it is gone, or the address it releases is
                // claimed by another user, which no write of PlanoAuth's leaves behind.
                Outcome::Refused(Step::Record) => {
                    return Err(match self.get(id).await? {
                        None => WriteError::UnknownEmployee(id),
                        Some(_) => StoreError::Malformed(format!(
                            "employee {id}'s address is claimed by another user"
                        ))
                        .into(),
                    });
                }
                Outcome::Refused(step) => {
                    return Err(StoreError::Malformed(format!(
                        "updating employee {id} was refused at {step:?}"
                    ))
                    .into());
                }
            }
        }
    }

    /// Whether updating `stored` moves the email claim or points at another service area,
    /// which takes a transaction.
    fn moves_claims(
        &self,
        stored: &Item,
        email: &Email,
        changes: &EmployeeChanges,
    ) -> Result<bool, StoreError> {
        let read = Reader(stored);
        let area_changes = match changes.service_area_id {
            Patch::Set(area) => read.opt_num(attr::SERVICE_AREA_ID)? != Some(area),
            _ => false,
        };
        Ok(read.str(attr::EMAIL_NORMALIZED)? != email.normalized() || area_changes)
    }

    /// The update as one UpdateItem, on condition that it moves no claim: the address
    /// stays the record's and the service area stays as it is.
    async fn update_in_place(
        &self,
        id: i64,
        email: &Email,
        changes: &EmployeeChanges,
        edits: &[Edit],
        now: i64,
        backoff: &mut Backoff,
    ) -> Result<Conditional, StoreError> {
        let mut e = record_update(email, changes, edits, now);
        let (email_name, email_value) = (
            e.name(attr::EMAIL_NORMALIZED),
            e.value(string(email.normalized())),
        );
        e.condition(format!("{email_name} = {email_value}"));
        if let Patch::Set(area) = changes.service_area_id {
            let (name, value) = (e.name(attr::SERVICE_AREA_ID), e.value(number(area)));
            e.condition(format!("{name} = {value}"));
        }
        let key = (attr::ID, number(id));
        update_within(self.client, &self.tables.employees, key, &e, backoff).await
    }

    /// The update with the move of its email claim, as one transaction: the record's
    /// fields, on condition that the address it releases is still the record's (if not,
    /// DynamoDB hands back the record as it is); the old address released and the new
    /// one claimed.
    fn transaction(
        &self,
        id: i64,
        email: &Email,
        changes: &EmployeeChanges,
        edits: &[Edit],
        stored: &Item,
        now: i64,
    ) -> Result<Steps, StoreError> {
        let old_email = Reader(stored).str(attr::EMAIL_NORMALIZED)?.to_owned();
        let new_email = email.normalized();
        let mut e = record_update(email, changes, edits, now);
        e.set(attr::EMAIL_NORMALIZED, string(&new_email));
        let (email_name, old_value) = (e.name(attr::EMAIL_NORMALIZED), e.value(string(&old_email)));
        e.condition(format!("{email_name} = {old_value}"));
        let update = Update::builder()
            .table_name(&self.tables.employees)
            .key(attr::ID, number(id))
            .set_update_expression(e.update_expression())
            .set_condition_expression(e.condition_expression())
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()?;
        let mut steps = Steps::default();
        steps.push(
            Step::Record,
            TransactWriteItem::builder().update(update).build(),
        );
        if old_email != new_email {
            steps.push(Step::Record, self.emails().release(&old_email, id)?);
            steps.push(Step::EmailClaim, self.emails().claim(&new_email, id)?);
        }
        Ok(steps)
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

/// The part of an update that is the same whichever way it is written: the fields it
/// changes, on condition that the record exists and that the hire/off-boarding order
/// holds against the stored date the update leaves as it is.
fn record_update(email: &Email, changes: &EmployeeChanges, edits: &[Edit], now: i64) -> Expression {
    let mut e = Expression::default();
    e.set(attr::EMAIL, string(email.as_str()))
        .set(attr::UPDATED_AT, number(now));
    for (name, edit) in edits {
        match edit {
            Some(value) => e.set(name, value.clone()),
            None => e.remove(name),
        };
    }
    let id = e.name(attr::ID);
    e.condition(format!("attribute_exists({id})"));
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
    e
}

/// The stored record with the update applied, as the update leaves it.
fn apply(stored: &Item, email: &Email, edits: &[Edit], now: i64) -> Item {
    let mut item = stored.clone();
    item.insert(attr::EMAIL.into(), string(email.as_str()));
    item.insert(attr::EMAIL_NORMALIZED.into(), string(email.normalized()));
    item.insert(attr::UPDATED_AT.into(), number(now));
    for (name, edit) in edits {
        match edit {
            Some(value) => item.insert((*name).into(), value.clone()),
            None => item.remove(*name),
        };
    }
    item
}
