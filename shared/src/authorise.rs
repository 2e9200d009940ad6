//! Authorisation: which application the caller acts in, and whether its role there holds
//! the route's permission.

use crate::authenticate::Caller;
use crate::domain::{Application, Permission};
use crate::error::ApiError;
use crate::status::Status;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The caller's role in the application it acts in (or its application token) must
    /// hold the permission. A session user with no client, employee or liaison record
    /// holds no role at all: that is `client-required`.
    Permission(Permission),
    /// Any live session, a guest's too: the route acts on the caller's own session.
    OwnSession,
    /// An application token holding the permission (a trusted server); no session.
    ApplicationToken(Permission),
    /// An application token holding the permission, or a session whose user has no
    /// record yet (a guest, or a user told `client-required`).
    Registration(Permission),
}

impl Access {
    /// How the README's route table says it.
    pub fn describe(self) -> String {
        match self {
            Access::Permission(p) => format!("role or application token with `{}`", p.name()),
            Access::OwnSession => "any session".to_owned(),
            Access::ApplicationToken(p) => format!("application token with `{}`", p.name()),
            Access::Registration(p) => {
                format!(
                    "session without a record, or application token with `{}`",
                    p.name()
                )
            }
        }
    }
}

/// Decides the application the caller acts in and checks that the caller may call a
/// route of this `access`.
pub fn authorise(
    caller: &Caller,
    requested: Option<Application>,
    access: Access,
) -> Result<Application, ApiError> {
    match (access, caller) {
        (Access::Permission(needed), _) => authorise_permission(caller, requested, needed),
        (Access::OwnSession, Caller::Session(session)) => {
            Ok(requested.unwrap_or(session.application))
        }
        (Access::OwnSession, Caller::Application(_)) => Err(ApiError::reject_because(
            Status::PermissionDenied,
            "This route acts on a session: call it with a session token.",
        )),
        (
            Access::ApplicationToken(needed) | Access::Registration(needed),
            Caller::Application(_),
        ) => authorise_permission(caller, requested, needed),
        (Access::ApplicationToken(_), Caller::Session(_)) => Err(ApiError::reject_because(
            Status::PermissionDenied,
            "This route is for the applications' servers: call it with an application token.",
        )),
        (Access::Registration(_), Caller::Session(session)) => {
            if session.has_record() {
                return Err(ApiError::reject_because(
                    Status::PermissionDenied,
                    "This session's user already has a record.",
                ));
            }
            Ok(requested.unwrap_or(session.application))
        }
    }
}

/// Checks that the caller's role in the application it acts in holds `needed`.
fn authorise_permission(
    caller: &Caller,
    requested: Option<Application>,
    needed: Permission,
) -> Result<Application, ApiError> {
    match caller {
        Caller::Application(token) => {
            if requested.is_some_and(|app| app != token.application) {
                return Err(ApiError::reject_because(
                    Status::PermissionDenied,
                    format!(
                        "This application token acts for {} only.",
                        token.application.slug()
                    ),
                ));
            }
            if !token.permissions.contains(&needed) {
                return Err(denied(needed, token.application));
            }
            Ok(token.application)
        }
        Caller::Session(session) => {
            if !session.has_record() {
                return Err(ApiError::reject(Status::ClientRequired));
            }
            let acting = requested.unwrap_or(session.application);
            if !session.allows(acting, needed) {
                return Err(denied(needed, acting));
            }
            Ok(acting)
        }
    }
}

fn denied(needed: Permission, application: Application) -> ApiError {
    ApiError::reject_because(
        Status::PermissionDenied,
        format!(
            "The role in {} does not hold the permission {}.",
            application.slug(),
            needed.name()
        ),
    )
}
