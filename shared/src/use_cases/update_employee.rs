use super::notices::{Notice, send_notices};
use crate::app::App;
use crate::domain::{AuditAction, Email, Employee, EmployeeChanges, RecordKind, SecurityNotice};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::pipeline::Ctx;
use crate::store::employees::EmployeeUpdate;

/// Changes an employee record (see [`crate::store::employees`] for how it is written),
/// with its audit record, on behalf of a caller the pipeline found may act on them (and
/// while they still hold the roles it was checked against). A caller's own address and
/// deactivation are someone else's to change. Deactivating an employee ends all of their
/// sessions; moving their address ends their outstanding password reset token in the
/// same transaction and sends a security notice to the old address and the new one.
pub async fn update_employee(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    id: i64,
    email: &Email,
    changes: &EmployeeChanges,
) -> Result<Employee, ApiError> {
    let acted_on = ctx.acted_on(id)?;
    let audit = ctx.audit(AuditAction::EmployeeUpdated, id, RecordKind::Employee);
    let record = ctx.app.db.employees().key_of(id);
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

/// Writes an employee update and does what follows from it: the end of a deactivated
/// employee's sessions, the notices of a moved address. The operator tool's way in too,
/// which acts on anyone (`acted_on: None`).
pub async fn write_employee_update(
    app: &App,
    mailer: &Mailer,
    update: &EmployeeUpdate<'_>,
) -> Result<Employee, ApiError> {
    let updated = app.db.employees().update(update).await?;
    let id = update.id;
    if update.changes.active == Some(false) {
        // A deactivated employee must not keep acting through open sessions.
        app.db.sessions().end_all_for_user(id).await?;
    }
    if let Some(old) = &updated.moved_from {
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
    Ok(updated.employee)
}
