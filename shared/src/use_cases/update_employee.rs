//! Changing an employee record.
//!
//! The record is read first (consistently: its audit record holds each changed field's
//! old value, and the rules look at the dates it keeps), then written in one transaction:
//! the record's fields, on condition that those it writes are still as read (so that
//! concurrent updates of one record each apply rather than cancel one another); the move
//! of the email claim when the address changes, with the end of the account's
//! outstanding reset token; the check that the person acted on still has the roles the
//! caller was authorised against; and the audit record. When another update got there
//! first, DynamoDB hands back the record as it is now and the update is decided again
//! against it.

use super::after_conflicts;
use super::notices::{Notice, send_notices};
use super::sessions::end_sessions;
use crate::app::App;
use crate::domain::{
    ActedOn, AuditAction, AuditEntry, Email, Employee, EmployeeChanges, Patch, RecordKind,
    ReferenceKind, Refusal, SecurityNotice,
};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::pipeline::Ctx;
use crate::store::employees::{self, Edit};
use crate::store::{Backoff, Db, Item, ItemKey, Outcome, PRIORITY, Step, Steps, StoreError};

/// One update of an employee record.
#[derive(Debug, Clone, Copy)]
pub struct EmployeeUpdate<'a> {
    pub id: i64,
    pub email: &'a Email,
    pub changes: &'a EmployeeChanges,
    pub now: i64,
    /// The entry of the change, its changes filled in by the update.
    pub audit: &'a AuditEntry,
    /// The record as read ahead with the caller's token (`Some(None)`: there was none);
    /// `None` to read it here.
    pub read: Option<&'a Option<Item>>,
    /// The person as the request's authorisation found them: the update holds only while
    /// their roles are still those. `None` for the operator, who may act on anyone.
    pub acted_on: Option<&'a ActedOn>,
}

/// What an update of employee `id` reads first: the record, which the pipeline may read
/// with the caller's token, so that an update that keeps the address costs that read and
/// one transaction.
pub fn employee_update_reads(db: &Db, id: i64) -> ItemKey {
    db.employees().key_of(id)
}

/// Changes an employee record on behalf of a caller the pipeline found may act on them
/// (and while they still hold the roles it was checked against). A caller's own address
/// and deactivation are someone else's to change. Deactivating an employee ends all of
/// their sessions; moving their address ends their outstanding password reset token in
/// the same transaction and sends a security notice to the old address and the new one.
pub async fn update_employee(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    id: i64,
    email: &Email,
    changes: &EmployeeChanges,
) -> Result<Employee, ApiError> {
    let acted_on = ctx.acted_on(id)?;
    let audit = ctx.audit(AuditAction::EmployeeUpdated, id, RecordKind::Employee);
    let record = employee_update_reads(&ctx.app.db, id);
    let update = EmployeeUpdate {
        id,
        email,
        changes,
        now: ctx.now,
        audit: &audit,
        read: ctx.read_ahead.get(&record),
        acted_on: Some(acted_on),
    };
    write_employee_update(ctx.app, mailer, &update).await
}

/// Writes an employee update (see the module's documentation) and does what follows from
/// it: the end of a deactivated employee's sessions, the notices of a moved address. The
/// operator tool's way in too, which acts on anyone (`acted_on: None`).
pub async fn write_employee_update(
    app: &App,
    mailer: &Mailer,
    update: &EmployeeUpdate<'_>,
) -> Result<Employee, ApiError> {
    let (employee, moved_from) = write(app, update).await?;
    let id = update.id;
    // A deactivated employee must not keep acting through open sessions. The update is
    // written: its notices go out whether or not the endings do.
    let ended = match update.changes.active {
        Some(false) => end_sessions(&app.db, id, None).await.map(drop),
        _ => Ok(()),
    };
    if let Some(old) = &moved_from {
        let notices = [
            Notice {
                user_id: id,
                to: old,
                notice: SecurityNotice::AddressChangedFrom,
            },
            Notice {
                user_id: id,
                to: update.email.as_str(),
                notice: SecurityNotice::AddressChangedTo,
            },
        ];
        send_notices(app, mailer, &notices, update.now).await;
    }
    ended?;
    Ok(employee)
}

/// The update's read, rules and transaction, again at once against the record DynamoDB
/// hands back while other updates get there first (conflicts and such refusals share one
/// budget). The record as the update left it and, when it moved the address, the address
/// it moved from.
async fn write(
    app: &App,
    update: &EmployeeUpdate<'_>,
) -> Result<(Employee, Option<String>), ApiError> {
    let EmployeeUpdate {
        id,
        email,
        changes,
        now,
        acted_on,
        ..
    } = *update;
    let db = &app.db;
    if changes.off_boards_before_hiring() {
        return Err(Refusal::OffBoardedBeforeHired.into());
    }
    let edits = employees::edits(changes);
    let mut backoff = Backoff::new();
    let stored = match update.read {
        Some(read) => read.clone(),
        None => db.employees().get(id).await?,
    };
    let mut stored = stored.ok_or(Refusal::UnknownEmployee(id))?;
    loop {
        let (old_address, old_normalized) = employees::stored_address(&stored)?;
        let moves_address = old_normalized != email.normalized();
        if let Some(reason) = acted_on
            .filter(|acted_on| acted_on.is_caller)
            .and_then(|_| changes.refused_on_own_record(moves_address))
        {
            return Err(Refusal::OwnRecord(reason).into());
        }
        let updated = employees::apply(&stored, email, &edits, now);
        let employee = employees::employee_from(&updated)?;
        if employee.off_boards_before_hiring() {
            return Err(Refusal::OffBoardedBeforeHired.into());
        }
        if let Patch::Set(area) = changes.service_area_id {
            let stored_area = employees::employee_from(&stored)?.service_area_id;
            let reference = [(ReferenceKind::ServiceArea, area.to_string())];
            if stored_area != Some(area)
                && let Err(kind) = db.reference().check(&reference).await?
            {
                return Err(Refusal::UnknownReference(kind).into());
            }
        }
        let entry = update
            .audit
            .with_changes(employees::changes_between(&stored, &updated));
        let steps = transaction(app, update, &edits, &stored, moves_address, &entry)?;
        match steps
            .run_within(&db.client, &PRIORITY, &mut backoff)
            .await?
        {
            Outcome::Written => {
                return Ok((employee, moves_address.then_some(old_address)));
            }
            Outcome::Refused {
                step: Step::EmailClaim,
                ..
            } => return Err(Refusal::EmailTaken.into()),
            // The person acted on no longer holds the roles the caller was checked
            // against: trying again checks the caller against the new ones.
            Outcome::Refused {
                step: Step::Account,
                ..
            } => return Err(Refusal::GrantsChanged.into()),
            Outcome::Conflict => {
                return Err(after_conflicts(db, email, id, "updating an employee").await);
            }
            // What it writes, or the address it releases, is no longer the record's:
            // DynamoDB handed back the record as it is now.
            Outcome::Refused {
                step: Step::Record,
                item: Some(current),
            } => {
                if backoff.expired() {
                    return Err(StoreError::Busy("updating an employee").into());
                }
                stored = current;
            }
            // With no record handed back: it is gone, or the address it releases is
            // claimed by another user, which no write of PlanoAuth's leaves behind.
            Outcome::Refused {
                step: Step::Record, ..
            } => {
                return Err(match db.employees().get(id).await? {
                    None => Refusal::UnknownEmployee(id).into(),
                    Some(_) => StoreError::Malformed(format!(
                        "employee {id}'s address is claimed by another user"
                    ))
                    .into(),
                });
            }
            Outcome::Refused { step, .. } => {
                return Err(StoreError::Malformed(format!(
                    "updating employee {id} was refused at {step:?}"
                ))
                .into());
            }
        }
    }
}

/// The update's steps, as the module's documentation lists them.
fn transaction(
    app: &App,
    update: &EmployeeUpdate<'_>,
    edits: &[Edit],
    stored: &Item,
    moves_address: bool,
    entry: &AuditEntry,
) -> Result<Steps, StoreError> {
    let db = &app.db;
    let EmployeeUpdate {
        id, email, changes, ..
    } = *update;
    let record = db
        .employees()
        .update_step(id, email, changes, edits, stored, update.now)?;
    let mut steps = Steps::default();
    steps.push(Step::Record, record);
    if moves_address {
        let (_, old) = employees::stored_address(stored)?;
        steps
            .push(Step::Record, db.emails().release(&old, id)?)
            .push(
                Step::EmailClaim,
                db.emails().claim(&email.normalized(), id)?,
            );
    }
    let account = db.users().acted_on(id, update.acted_on, moves_address)?;
    steps
        .push_some(Step::Account, account)
        .push(Step::Audit, db.audit().put(entry)?);
    Ok(steps)
}
