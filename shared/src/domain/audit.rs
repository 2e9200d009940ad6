//! The audit trail: one entry for every change to a person, written in the transaction
//! that makes the change. An entry never holds a secret: a password change is recorded
//! as having happened, never with a password, a hash or a token.

use super::Application;
use serde_json::Value;
use std::collections::BTreeMap;

/// What was done, as the trail names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    EmployeeCreated,
    EmployeeUpdated,
    /// An update that turned `active` false.
    EmployeeDeactivated,
    ClientRegistered,
    RoleGranted,
    PasswordChanged,
    PasswordReset,
    SessionsEnded,
    PasskeyAdded,
    PasskeyRemoved,
    /// A session opened with a passkey (which one, never its key).
    SignedInWithPasskey,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesRegenerated,
    /// A session opened with a password and a second factor (which method, never a code).
    SignedInWithSecondFactor,
}

impl AuditAction {
    pub const ALL: [AuditAction; 15] = [
        AuditAction::EmployeeCreated,
        AuditAction::EmployeeUpdated,
        AuditAction::EmployeeDeactivated,
        AuditAction::ClientRegistered,
        AuditAction::RoleGranted,
        AuditAction::PasswordChanged,
        AuditAction::PasswordReset,
        AuditAction::SessionsEnded,
        AuditAction::PasskeyAdded,
        AuditAction::PasskeyRemoved,
        AuditAction::SignedInWithPasskey,
        AuditAction::TotpEnabled,
        AuditAction::TotpDisabled,
        AuditAction::RecoveryCodesRegenerated,
        AuditAction::SignedInWithSecondFactor,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            AuditAction::EmployeeCreated => "employee.created",
            AuditAction::EmployeeUpdated => "employee.updated",
            AuditAction::EmployeeDeactivated => "employee.deactivated",
            AuditAction::ClientRegistered => "client.registered",
            AuditAction::RoleGranted => "role.granted",
            AuditAction::PasswordChanged => "password.changed",
            AuditAction::PasswordReset => "password.reset",
            AuditAction::SessionsEnded => "sessions.ended",
            AuditAction::PasskeyAdded => "passkey.added",
            AuditAction::PasskeyRemoved => "passkey.removed",
            AuditAction::SignedInWithPasskey => "session.passkey",
            AuditAction::TotpEnabled => "totp.enabled",
            AuditAction::TotpDisabled => "totp.disabled",
            AuditAction::RecoveryCodesRegenerated => "recovery_codes.regenerated",
            AuditAction::SignedInWithSecondFactor => "session.second_factor",
        }
    }

    pub fn from_slug(slug: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.slug() == slug)
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    /// A trusted server, by its token's id (never the token).
    Application {
        token_id: String,
        application: Application,
    },
    /// A user (`None`: a guest) through a session, acting in `application`.
    User {
        user_id: Option<i64>,
        application: Application,
    },
    /// The operator tool, run by this OS user (from `$USER`, when set).
    Operator { os_user: Option<String> },
}

/// One field's change. `None` is absent: no old value for a create, no new one for a
/// cleared field, and neither for a secret, which is recorded only as having changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldChange {
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// Which record a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Employee,
    Client,
    /// The user account itself (roles, password, sessions).
    User,
}

impl RecordKind {
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Employee => "employee",
            RecordKind::Client => "client",
            RecordKind::User => "user",
        }
    }

    pub fn from_name(name: &str) -> Option<RecordKind> {
        [RecordKind::Employee, RecordKind::Client, RecordKind::User]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// One change to a person, as the trail keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: i64,
    pub actor: Actor,
    pub action: AuditAction,
    /// The person changed; every record of theirs is keyed by this id.
    pub user_id: i64,
    pub record: RecordKind,
    /// Field → its old and new value.
    pub changes: BTreeMap<String, FieldChange>,
    /// How many things the change affected, where that is its point (sessions ended).
    pub count: Option<i64>,
    /// API Gateway's request id, or one the operator tool made up.
    pub request_id: String,
}

impl AuditEntry {
    pub fn new(
        at: i64,
        actor: Actor,
        action: AuditAction,
        user_id: i64,
        record: RecordKind,
        request_id: impl Into<String>,
    ) -> AuditEntry {
        AuditEntry {
            at,
            actor,
            action,
            user_id,
            record,
            changes: BTreeMap::new(),
            count: None,
            request_id: request_id.into(),
        }
    }

    /// The entry with these changes; an employee update that turned `active` false is
    /// recorded as a deactivation.
    pub fn with_changes(&self, changes: BTreeMap<String, FieldChange>) -> AuditEntry {
        let deactivated = changes
            .get("active")
            .is_some_and(|change| change.new == Some(Value::Bool(false)));
        let action = match self.action {
            AuditAction::EmployeeUpdated if deactivated => AuditAction::EmployeeDeactivated,
            action => action,
        };
        AuditEntry {
            action,
            changes,
            ..self.clone()
        }
    }

    /// The entry recording that a secret changed, without any value of it.
    pub fn with_secret_changed(&self, field: &str) -> AuditEntry {
        let mut entry = self.clone();
        entry
            .changes
            .insert(field.to_owned(), FieldChange::default());
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_that_turns_active_false_is_a_deactivation() {
        let actor = Actor::Operator { os_user: None };
        let entry = AuditEntry::new(
            0,
            actor,
            AuditAction::EmployeeUpdated,
            1,
            RecordKind::Employee,
            "r",
        );
        let change = |old: bool, new: bool| FieldChange {
            old: Some(Value::Bool(old)),
            new: Some(Value::Bool(new)),
        };
        let deactivated = BTreeMap::from([("active".to_owned(), change(true, false))]);
        assert_eq!(
            entry.with_changes(deactivated).action,
            AuditAction::EmployeeDeactivated
        );
        let reactivated = BTreeMap::from([("active".to_owned(), change(false, true))]);
        assert_eq!(
            entry.with_changes(reactivated).action,
            AuditAction::EmployeeUpdated
        );
        assert_eq!(
            entry.with_changes(BTreeMap::new()).action,
            AuditAction::EmployeeUpdated
        );
    }

    #[test]
    fn actions_round_trip_their_slugs() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::from_slug(action.slug()), Some(action));
        }
    }
}
