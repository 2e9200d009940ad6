//! Who the operator is, for the audit records of the tool's changes.

use planoauth::domain::{Actor, AuditAction, AuditEntry, RecordKind};

/// The audit entry of a change the operator makes to `user_id`: by the OS user running
/// the tool, under a request id of its own.
pub fn operator_audit(now: i64, action: AuditAction, user_id: i64) -> AuditEntry {
    let actor = Actor::Operator {
        os_user: std::env::var("USER").ok().filter(|user| !user.is_empty()),
    };
    let request_id = format!("admin-{}", planoauth::tokens::random_id());
    let record = match action {
        AuditAction::EmployeeCreated | AuditAction::EmployeeUpdated => RecordKind::Employee,
        _ => RecordKind::User,
    };
    AuditEntry::new(now, actor, action, user_id, record, request_id)
}
