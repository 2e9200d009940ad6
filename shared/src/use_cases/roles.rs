//! The operator's workflows on roles and on the account sessions listing.

use super::sessions::refresh_sessions;
use crate::app::App;
use crate::domain::{Application, AuditEntry, FieldChange, Permission};
use crate::store::sessions::ttl_of;
use crate::store::{Backoff, Outcome, PRIORITY, Step, Steps, StoreError};
use std::collections::BTreeMap;

/// Gives a user `role` in `application`, in one transaction with its `audit` record
/// (the role it replaces filled in here): on condition that the role it replaces is still
/// the one read, read again while another grant gets there first. Returns false if there
/// is no such user. Open sessions keep their grants until
/// [`refresh_sessions`](super::refresh_sessions) updates them.
pub async fn grant_role(
    app: &App,
    user_id: i64,
    application: Application,
    role: &str,
    audit: &AuditEntry,
) -> Result<bool, StoreError> {
    let db = &app.db;
    let mut backoff = Backoff::new();
    loop {
        let Some(account) = db.users().account(user_id).await? else {
            return Ok(false);
        };
        let old = account.roles.get(&application).map(String::as_str);
        let change = FieldChange {
            old: old.map(Into::into),
            new: Some(role.into()),
        };
        let field = format!("roles.{}", application.slug());
        let entry = audit.with_changes(BTreeMap::from([(field, change)]));
        let mut steps = Steps::default();
        steps
            .push(
                Step::Record,
                db.users().grant_step(user_id, application, role, old)?,
            )
            .push(Step::Audit, db.audit().put(&entry)?);
        match steps
            .run_within(&db.client, &PRIORITY, &mut backoff)
            .await?
        {
            Outcome::Written => return Ok(true),
            // Granted or deleted meanwhile: read it again.
            Outcome::Refused {
                step: Step::Record, ..
            } if backoff.wait().await => {}
            Outcome::Refused {
                step: Step::Record, ..
            }
            | Outcome::Conflict => return Err(StoreError::Busy("granting a role")),
            Outcome::Refused { step, .. } => {
                return Err(StoreError::Malformed(format!(
                    "granting a role to user {user_id} was refused at {step:?}"
                )));
            }
        }
    }
}

/// [`grant_role`], and the user's open sessions given the grants it brings at once.
/// Returns how many sessions were given them (`None`: there is no such user).
pub async fn grant_role_now(
    app: &App,
    user_id: i64,
    application: Application,
    role: &str,
    audit: &AuditEntry,
) -> Result<Option<usize>, StoreError> {
    if !grant_role(app, user_id, application, role, audit).await? {
        return Ok(None);
    }
    Ok(Some(refresh_sessions(app, user_id).await?.unwrap_or(0)))
}

/// What defining a role reached: the users holding it in its application, and their
/// sessions given its new permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleDefined {
    pub holders: usize,
    pub sessions_refreshed: usize,
}

/// Writes a role's permissions in an application (and whether its holders must have a
/// second factor) and gives its holders' open sessions those grants at once. Finding the holders scans the users table: the operator's
/// work, never a request's.
pub async fn define_role(
    app: &App,
    application: Application,
    role: &str,
    permissions: &[Permission],
    second_factor_required: bool,
) -> Result<RoleDefined, StoreError> {
    let roles = app.db.roles();
    roles
        .put(application, role, permissions, second_factor_required)
        .await?;
    let holders = app.db.users().holders_of(application, role).await?;
    let mut sessions_refreshed = 0;
    for user_id in &holders {
        sessions_refreshed += refresh_sessions(app, *user_id).await?.unwrap_or(0);
    }
    Ok(RoleDefined {
        holders: holders.len(),
        sessions_refreshed,
    })
}

/// Moves the sessions releases before the account sessions table listed in the account's
/// item to that table, for every account that still has such a list: those sessions that
/// still exist, each with its TTL (the old list also kept sessions signed out or cleaned
/// up). The listings are written first and the list emptied after, so that a failure in
/// between leaves a session listed twice, never unlisted; running it again finishes the
/// move. A Scan of the users table: the operator's, once, after the upgrade (`planoauth-admin
/// migrate session-listings`), never a request's. Returns the accounts and the sessions
/// moved.
pub async fn migrate_session_listings(app: &App) -> Result<(usize, usize), StoreError> {
    let db = &app.db;
    let (mut accounts, mut moved) = (0, 0);
    for user_id in db.users().with_legacy_sessions().await? {
        let legacy = db.users().legacy_session_hashes(user_id).await?;
        for chunk in legacy.chunks(100) {
            for session in db.sessions().find_all(chunk).await? {
                db.account_sessions()
                    .list(user_id, &session.token_hash, ttl_of(&session))
                    .await?;
                moved += 1;
            }
        }
        db.users().forget_legacy_sessions(user_id, &legacy).await?;
        accounts += 1;
    }
    Ok((accounts, moved))
}
