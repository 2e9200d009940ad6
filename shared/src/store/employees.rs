//! Employee records (photographers among them), keyed by their user's id.
//!
//! An update writes only the fields it changes, under conditions on only the fields it
//! depends on, so that concurrent updates of one record each apply rather than cancel
//! one another: its step holds only while those it writes (and the address it releases)
//! are still as they were read, and while the hire/off-boarding order holds against the
//! stored date it leaves as it is; refused, it hands back the record as it is now. The
//! update's workflow (the read, the rules, the other steps, the retry) is
//! use case `update_employee`'s.

use super::{Expression, Item, ItemKey, Reader, StoreError, audit, number, put_new_step, string};
use crate::domain::{Address, Email, Employee, EmployeeChanges, FieldChange, Patch};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};
use std::collections::BTreeMap;

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

/// What an audit record leaves out: the key and the bookkeeping the store keeps.
const BOOKKEEPING: &[&str] = &[
    attr::ID,
    attr::EMAIL_NORMALIZED,
    attr::CREATED_AT,
    attr::UPDATED_AT,
];

pub fn employee_from(item: &Item) -> Result<Employee, StoreError> {
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

/// One attribute's change: a new value, or `None` to remove it.
pub type Edit = (&'static str, Option<AttributeValue>);

/// What an update writes, attribute by attribute.
pub fn edits(changes: &EmployeeChanges) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut text = |name, patch: &Patch<String>| match patch {
        Patch::Unchanged => {}
        Patch::Clear => edits.push((name, None)),
        Patch::Set(value) => edits.push((name, Some(string(value)))),
    };
    text(attr::FIRST_NAME, &changes.first_name);
    text(attr::LAST_NAME, &changes.last_name);
    text(attr::LEGAL_NAME, &changes.legal_name);
    text(attr::PHONE, &changes.phone);
    text(attr::STREET, &changes.address.street);
    text(attr::STREET2, &changes.address.street2);
    text(attr::CITY, &changes.address.city);
    text(attr::STATE, &changes.address.state);
    text(attr::POSTAL_CODE, &changes.address.postal_code);
    text(attr::LONGITUDE, &changes.address.longitude);
    text(attr::LATITUDE, &changes.address.latitude);
    text(attr::DATE_HIRED, &changes.date_hired);
    text(attr::DATE_OFF_BOARDED, &changes.date_off_boarded);
    if let Some(active) = changes.active {
        edits.push((attr::ACTIVE, Some(AttributeValue::Bool(active))));
    }
    match &changes.service_area_id {
        Patch::Unchanged => {}
        Patch::Clear => edits.push((attr::SERVICE_AREA_ID, None)),
        Patch::Set(id) => edits.push((attr::SERVICE_AREA_ID, Some(number(*id)))),
    }
    match &changes.skills {
        Patch::Unchanged => {}
        Patch::Clear => edits.push((attr::SKILLS, None)),
        Patch::Set(skills) => edits.push((
            attr::SKILLS,
            Some(AttributeValue::L(skills.iter().map(string).collect())),
        )),
    }
    edits
}

fn item_of(employee: &Employee, email: &Email) -> Item {
    let mut item = Item::from([
        (attr::ID.into(), number(employee.id)),
        (attr::EMAIL.into(), string(&employee.email)),
        (attr::EMAIL_NORMALIZED.into(), string(email.normalized())),
        (attr::ACTIVE.into(), AttributeValue::Bool(employee.active)),
        (
            attr::PHOTOGRAPHER.into(),
            AttributeValue::Bool(employee.photographer),
        ),
        (attr::CREATED_AT.into(), number(employee.created_at)),
        (attr::UPDATED_AT.into(), number(employee.updated_at)),
    ]);
    let texts = [
        (attr::FIRST_NAME, &employee.first_name),
        (attr::LAST_NAME, &employee.last_name),
        (attr::LEGAL_NAME, &employee.legal_name),
        (attr::PHONE, &employee.phone),
        (attr::STREET, &employee.address.street),
        (attr::STREET2, &employee.address.street2),
        (attr::CITY, &employee.address.city),
        (attr::STATE, &employee.address.state),
        (attr::POSTAL_CODE, &employee.address.postal_code),
        (attr::LONGITUDE, &employee.address.longitude),
        (attr::LATITUDE, &employee.address.latitude),
        (attr::DATE_HIRED, &employee.date_hired),
        (attr::DATE_OFF_BOARDED, &employee.date_off_boarded),
        (attr::DEPARTMENT, &employee.department),
        (attr::LANGUAGE, &employee.language),
    ];
    for (name, value) in texts {
        if let Some(value) = value {
            item.insert(name.into(), string(value));
        }
    }
    let numbers = [
        (attr::SERVICE_AREA_ID, employee.service_area_id),
        (attr::EXTENSION, employee.extension),
        (attr::DESIGNATION_ID, employee.designation_id),
    ];
    for (name, value) in numbers {
        if let Some(value) = value {
            item.insert(name.into(), number(value));
        }
    }
    if !employee.skills.is_empty() {
        item.insert(
            attr::SKILLS.into(),
            AttributeValue::L(employee.skills.iter().map(string).collect()),
        );
    }
    item
}

pub struct Employees<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Employees<'_> {
    /// The transaction step that writes a new employee record (on condition that none
    /// has its id), and the record's fields as its audit record's changes.
    pub fn put_step(
        &self,
        employee: &Employee,
        email: &Email,
    ) -> Result<(TransactWriteItem, BTreeMap<String, FieldChange>), StoreError> {
        let item = item_of(employee, email);
        let changes = audit::changes(&Item::new(), &item, BOOKKEEPING);
        Ok((put_new_step(self.table, item, attr::ID)?, changes))
    }

    /// The transaction step of an update of the record `stored` (as read): the fields
    /// `edits` writes, on condition that those it writes and the address it releases are
    /// still as `stored` has them, and that the hire/off-boarding order holds against the
    /// stored date it leaves. Refused, DynamoDB hands back the record as it is.
    pub fn update_step(
        &self,
        id: i64,
        email: &Email,
        changes: &EmployeeChanges,
        edits: &[Edit],
        stored: &Item,
        now: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let old_email = Reader(stored).str(attr::EMAIL_NORMALIZED)?.to_owned();
        let mut e = record_update(email, changes, edits, now);
        e.set(attr::EMAIL_NORMALIZED, string(email.normalized()));
        let (email_name, old_value) = (e.name(attr::EMAIL_NORMALIZED), e.value(string(&old_email)));
        e.condition(format!("{email_name} = {old_value}"));
        // The audit record's old values are the ones this update replaces.
        let written = edits.iter().map(|(name, _)| *name).chain([attr::EMAIL]);
        for name in written {
            let placeholder = e.name(name);
            let condition = match stored.get(name) {
                Some(value) => format!("{placeholder} = {}", e.value(value.clone())),
                None => format!("attribute_not_exists({placeholder})"),
            };
            e.condition(condition);
        }
        e.update_step_returning_old(self.table, (attr::ID, number(id)))
    }

    /// The transaction step that holds only while the employee is active: with a new
    /// session, so that none opens after a deactivation.
    pub fn must_be_active(&self, id: i64) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(self.table)
            .key(attr::ID, number(id))
            .condition_expression("#active = :yes")
            .expression_attribute_names("#active", attr::ACTIVE)
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .build()?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Where an employee's record is, for a caller that reads it along with another.
    pub fn key_of(&self, id: i64) -> ItemKey {
        ItemKey {
            table: self.table.to_owned(),
            key: Item::from([(attr::ID.into(), number(id))]),
        }
    }

    pub async fn get(&self, id: i64) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table)
            .key(attr::ID, number(id))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item)
    }

    pub async fn find(&self, id: i64) -> Result<Option<Employee>, StoreError> {
        self.get(id).await?.as_ref().map(employee_from).transpose()
    }
}

/// The address a stored record has: as given, and in the form uniqueness is decided on.
pub fn stored_address(stored: &Item) -> Result<(String, String), StoreError> {
    let read = Reader(stored);
    Ok((
        read.str(attr::EMAIL)?.to_owned(),
        read.str(attr::EMAIL_NORMALIZED)?.to_owned(),
    ))
}

/// What an update changed, field by field, for its audit record.
pub fn changes_between(stored: &Item, updated: &Item) -> BTreeMap<String, FieldChange> {
    audit::changes(stored, updated, BOOKKEEPING)
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
pub fn apply(stored: &Item, email: &Email, edits: &[Edit], now: i64) -> Item {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AddressChanges;
    use std::collections::BTreeMap;

    #[test]
    fn an_update_writes_what_it_sets_and_removes_what_it_clears() {
        let changes = EmployeeChanges {
            active: Some(false),
            first_name: Patch::Set("Grace".into()),
            phone: Patch::Clear,
            service_area_id: Patch::Set(3),
            skills: Patch::Set(vec!["drone".into()]),
            address: AddressChanges {
                city: Patch::Set("Austin".into()),
                ..AddressChanges::clear_all()
            },
            ..EmployeeChanges::default()
        };
        let written: BTreeMap<&str, Option<AttributeValue>> = edits(&changes).into_iter().collect();
        assert_eq!(written[attr::FIRST_NAME], Some(string("Grace")));
        assert_eq!(written[attr::PHONE], None);
        assert_eq!(written[attr::ACTIVE], Some(AttributeValue::Bool(false)));
        assert_eq!(written[attr::SERVICE_AREA_ID], Some(number(3)));
        assert_eq!(
            written[attr::SKILLS],
            Some(AttributeValue::L(vec![string("drone")]))
        );
        assert_eq!(written[attr::CITY], Some(string("Austin")));
        assert_eq!(
            written[attr::STREET],
            None,
            "the rest of the address is cleared"
        );
        assert!(
            !written.contains_key(attr::LAST_NAME),
            "what is left out stays"
        );
        assert!(!written.contains_key(attr::DATE_HIRED));
        assert!(edits(&EmployeeChanges::default()).is_empty());
    }

    #[test]
    fn setting_one_date_is_checked_against_the_other_stored_one() {
        let email = Email::parse("a@b.co").unwrap_or_else(|_| unreachable!());
        let hired_only = EmployeeChanges {
            date_hired: Patch::Set("2024-01-01".into()),
            ..EmployeeChanges::default()
        };
        let e = record_update(&email, &hired_only, &edits(&hired_only), 0);
        let condition = e.condition_expression().unwrap_or_default();
        assert!(condition.contains("#date_off_boarded >= "), "{condition}");
        let both = EmployeeChanges {
            date_off_boarded: Patch::Set("2024-02-01".into()),
            ..hired_only
        };
        let e = record_update(&email, &both, &edits(&both), 0);
        let condition = e.condition_expression().unwrap_or_default();
        assert!(
            !condition.contains("date"),
            "both given: checked before any write"
        );
    }

    #[test]
    fn apply_shows_the_record_as_the_update_leaves_it() {
        let email = Email::parse("New@B.co").unwrap_or_else(|_| unreachable!());
        let stored = Item::from([
            (attr::EMAIL.into(), string("old@b.co")),
            (attr::LAST_NAME.into(), string("Hopper")),
            (attr::PHONE.into(), string("+1 555 010 0000")),
        ]);
        let changes = EmployeeChanges {
            phone: Patch::Clear,
            ..EmployeeChanges::default()
        };
        let updated = apply(&stored, &email, &edits(&changes), 9);
        let read = Reader(&updated);
        assert_eq!(read.opt_str(attr::EMAIL), Some("New@B.co"));
        assert_eq!(read.opt_str(attr::EMAIL_NORMALIZED), Some("new@b.co"));
        assert_eq!(read.opt_str(attr::LAST_NAME), Some("Hopper"));
        assert_eq!(read.opt_str(attr::PHONE), None);
    }
}
