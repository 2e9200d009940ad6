//! Creating an employee (a photographer through the API, an admin through the operator
//! tool): the user, the employee record and the email claim in one transaction, with the
//! audit record and, for a request with a key, its idempotency claim. References
//! (service area, department, designation) are checked by reading the reference data
//! first: it is only ever added to, so an entry once seen stays, and keeping it out of
//! the transaction spares concurrent creates a queue on the same few items.

use super::after_conflicts;
use crate::app::App;
use crate::domain::{AuditEntry, Employee, FieldChange, NewEmployee, NewUser, Profile, Refusal};
use crate::error::ApiError;
use crate::store::{Outcome, PRIORITY, Step, Steps, StoreError};
use aws_sdk_dynamodb::types::TransactWriteItem;

/// Writes `employee` (made from `new`) with a new account, its email claim, `audit` (its
/// changes filled in here) and `claim`. The id comes from the `users` counter, so the
/// record and the account are new: the only conditions that can fail are the email's and
/// the idempotency key's.
pub async fn create_employee(
    app: &App,
    employee: &Employee,
    new: &NewEmployee<'_>,
    claim: Option<TransactWriteItem>,
    audit: &AuditEntry,
) -> Result<(), ApiError> {
    let db = &app.db;
    if let Err(kind) = db.reference().check(&employee.references()).await? {
        return Err(Refusal::UnknownReference(kind).into());
    }
    let email = new.email;
    let account = NewUser {
        id: employee.id,
        roles: new.roles,
        profiles: &[Profile::Employee],
        password_hash: new.password_hash,
        password_change_required: new.password_change_required,
    };
    let (record, mut changes) = db.employees().put_step(employee, email)?;
    for (application, role) in new.roles {
        let change = FieldChange {
            old: None,
            new: Some((*role).into()),
        };
        changes.insert(format!("roles.{}", application.slug()), change);
    }
    let mut steps = Steps::default();
    steps
        .push(Step::Record, db.users().put(&account, employee.created_at)?)
        .push(Step::Record, record)
        .push(
            Step::EmailClaim,
            db.emails().claim(&email.normalized(), employee.id)?,
        )
        .push_some(Step::IdempotencyKey, claim)
        .push(Step::Audit, db.audit().put(&audit.with_changes(changes))?);
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => Ok(()),
        Outcome::Refused {
            step: Step::IdempotencyKey,
            ..
        } => Err(ApiError::KeyClaimed),
        Outcome::Refused {
            step: Step::EmailClaim,
            ..
        } => Err(Refusal::EmailTaken.into()),
        Outcome::Conflict => {
            Err(after_conflicts(db, email, employee.id, "creating an employee").await)
        }
        refused => Err(StoreError::Malformed(format!(
            "creating user {} was refused ({refused:?}): the users counter is behind",
            employee.id
        ))
        .into()),
    }
}
