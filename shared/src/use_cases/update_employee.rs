use crate::domain::{AuditAction, Email, Employee, EmployeeChanges, RecordKind};
use crate::error::ApiError;
use crate::pipeline::Ctx;

/// Changes an employee record (see [`crate::store::employees`] for how it is written),
/// with its audit record. Deactivating an employee ends all of their sessions.
pub async fn update_employee(
    ctx: &Ctx<'_>,
    id: i64,
    email: &Email,
    changes: &EmployeeChanges,
) -> Result<Employee, ApiError> {
    let audit = ctx.audit(AuditAction::EmployeeUpdated, id, RecordKind::Employee);
    let employee = ctx
        .app
        .db
        .employees()
        .update(id, email, changes, ctx.now, &audit, ctx.read_ahead.clone())
        .await?;
    if changes.active == Some(false) {
        // A deactivated employee must not keep acting through open sessions.
        ctx.app.db.sessions().end_all_for_user(id).await?;
    }
    Ok(employee)
}
