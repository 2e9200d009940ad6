//! Authorisation: which application the caller acts in, whether its role there holds
//! the route's permission and, on a route that acts on a person, whether the caller may
//! act on that person.

use crate::authenticate::Caller;
use crate::domain::{ActedOn, Application, Held, Permission, falls_short};
use crate::error::ApiError;
use crate::params::Params;
use crate::status::Status;
use crate::store::users::Users;
use crate::store::{Db, ItemKey, ReadAhead};
use crate::values::RecordId;
use std::collections::BTreeMap;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The caller's role in the application it acts in (or its application token) must
    /// hold the permission. A session user with no client, employee or liaison record
    /// holds no role at all: that is `client-required`.
    Permission(Permission),
    /// Any live session, a guest's too: the route acts on the caller's own session.
    OwnSession,
    /// A signed-in user's session, not a guest's: the route acts on the caller's own
    /// account (its passkeys, its TOTP).
    UserSession,
    /// As [`Access::UserSession`], on a route that enrols a second factor: open to a
    /// session whose user owes one (`second-factor-enrolment-required` elsewhere).
    Enrolment,
    /// An application token holding the permission (a trusted server); no session.
    ApplicationToken(Permission),
    /// An application token holding the permission, or a session whose user has no
    /// record yet (a guest, or a user told `client-required`).
    Registration(Permission),
}

impl Access {
    /// Whether a route of this access acts for the session's user beyond the session
    /// itself: what a session owing a password change (or a second factor) may not do.
    pub fn acts_for_user(self) -> bool {
        matches!(
            self,
            Access::Permission(_)
                | Access::Registration(_)
                | Access::UserSession
                | Access::Enrolment
        )
    }

    /// How the API reference's route table (docs/api.md) says it.
    pub fn describe(self) -> String {
        match self {
            Access::Permission(p) => format!("role or application token with `{}`", p.name()),
            Access::OwnSession => "any session".to_owned(),
            Access::UserSession => "a signed-in user's session (not a guest's)".to_owned(),
            Access::Enrolment => {
                "a signed-in user's session (not a guest's), one owing a second factor too"
                    .to_owned()
            }
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
    if let Caller::Session(session) = caller {
        // A password someone else set is replaced before the session does anything but
        // act on itself (show itself, end, change the password).
        if session.password_change_required && access.acts_for_user() {
            return Err(ApiError::reject(Status::PasswordChangeRequired));
        }
        // A second factor a role requires is enrolled before anything else, once the
        // password is the user's own.
        let enrols = access == Access::Enrolment;
        if session.second_factor_enrolment_required && access.acts_for_user() && !enrols {
            return Err(ApiError::reject(Status::SecondFactorEnrolmentRequired));
        }
    }
    match (access, caller) {
        (Access::Permission(needed), _) => authorise_permission(caller, requested, needed),
        (Access::OwnSession, Caller::Session(session)) => {
            Ok(requested.unwrap_or(session.application))
        }
        (Access::UserSession | Access::Enrolment, Caller::Session(session))
            if session.user_id.is_some() =>
        {
            Ok(requested.unwrap_or(session.application))
        }
        (Access::UserSession | Access::Enrolment, Caller::Session(_)) => {
            Err(ApiError::reject_because(
                Status::PermissionDenied,
                "This route acts on a signed-in user's account: a guest's session has none.",
            ))
        }
        (Access::OwnSession | Access::UserSession | Access::Enrolment, Caller::Application(_)) => {
            Err(ApiError::reject_because(
                Status::PermissionDenied,
                "This route acts on a session: call it with a session token.",
            ))
        }
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

/// The account of the person a route acts on (named by its parameter `acts_on`), to read
/// along with the caller's token: `None` when the route acts on no one or the parameter
/// is no id (which the authorisation then refuses).
pub fn acted_on_key(db: &Db, acts_on: Option<&str>, params: &Params) -> Option<ItemKey> {
    let param = acts_on?;
    let id = params.peek::<RecordId>(param).ok().flatten()?;
    Some(db.users().key_of(id.0))
}

/// On a route that acts on a person (the parameter `acts_on` names), whether the
/// caller may act on them: only if, in every application where they hold a role, the
/// caller holds at least their permissions (a session's user its role's there, an
/// application token its own in its own application). The account is taken from
/// `read_ahead` when it was read with the token. `None` on a route that acts on no one.
pub async fn authorise_acting_on(
    db: &Db,
    caller: &Caller,
    acts_on: Option<&str>,
    params: &Params,
    read_ahead: &ReadAhead,
) -> Result<Option<ActedOn>, ApiError> {
    let Some(param) = acts_on else {
        return Ok(None);
    };
    let user_id = params
        .peek::<RecordId>(param)?
        .ok_or_else(|| ApiError::missing(param))?
        .0;
    let account = match read_ahead.get(&db.users().key_of(user_id)) {
        Some(item) => item.as_ref().map(Users::account_from_read).transpose()?,
        None => db.users().account(user_id).await?,
    };
    let roles = account.map(|account| account.roles).unwrap_or_default();
    holds_every_permission_of(db, caller, &roles, "The person this request acts on").await?;
    let is_caller = caller
        .session()
        .is_some_and(|session| session.user_id == Some(user_id));
    Ok(Some(ActedOn {
        user_id,
        roles,
        is_caller,
    }))
}

/// Refuses (`permission-denied`) a caller that lacks, in some application, a permission
/// that `roles` hold there: no caller acts on, or creates, someone above them. `whom`
/// begins the message.
pub async fn holds_every_permission_of(
    db: &Db,
    caller: &Caller,
    roles: &BTreeMap<Application, String>,
    whom: &str,
) -> Result<(), ApiError> {
    let target = db.roles().permissions_cached(roles).await?;
    let held: Held = match caller {
        Caller::Session(session) => session.permissions.clone(),
        Caller::Application(token) => Held::from([(token.application, token.permissions.clone())]),
    };
    match falls_short(&held, &target) {
        None => Ok(()),
        Some((application, _)) => Err(ApiError::reject_because(
            Status::PermissionDenied,
            format!(
                "{whom} holds permissions in {} that the caller does not hold there.",
                application.slug()
            ),
        )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ApplicationToken, Profile, Session};
    use Application::{PlanoAuth, PlanoOrder, PlanoX2};
    use std::collections::BTreeMap;

    fn token(application: Application, permissions: &[Permission]) -> Caller {
        Caller::Application(ApplicationToken {
            id: "t".into(),
            application,
            name: "server".into(),
            permissions: permissions.to_vec(),
            created_at: 0,
        })
    }

    fn session(user: Option<i64>, roles: &[(Application, Permission)]) -> Caller {
        let mut permissions: BTreeMap<Application, Vec<Permission>> = BTreeMap::new();
        for (application, permission) in roles {
            permissions
                .entry(*application)
                .or_default()
                .push(*permission);
        }
        Caller::Session(Session {
            token_hash: "h".into(),
            id: "s".into(),
            user_id: user,
            application: PlanoAuth,
            remember_me: false,
            created_at: 0,
            last_used_at: 0,
            profiles: if user.is_some() && !roles.is_empty() {
                vec![Profile::Employee]
            } else {
                Vec::new()
            },
            permissions,
            password_change_required: false,
            second_factor_enrolment_required: false,
            proof: None,
        })
    }

    fn status(result: Result<Application, ApiError>) -> Result<Application, Status> {
        result.map_err(|error| error.status())
    }

    const UPDATE: Permission = Permission::EmployeesUpdate;

    #[test]
    fn a_role_permission_is_checked_in_the_application_acted_in() {
        let access = Access::Permission(UPDATE);
        let manager = session(Some(1), &[(PlanoAuth, UPDATE)]);
        assert_eq!(status(authorise(&manager, None, access)), Ok(PlanoAuth));
        assert_eq!(
            status(authorise(&manager, Some(PlanoOrder), access)),
            Err(Status::PermissionDenied)
        );
        let guest = session(None, &[]);
        assert_eq!(
            status(authorise(&guest, None, access)),
            Err(Status::ClientRequired)
        );
        let server = token(PlanoOrder, &[UPDATE]);
        assert_eq!(status(authorise(&server, None, access)), Ok(PlanoOrder));
        assert_eq!(
            status(authorise(&server, Some(PlanoX2), access)),
            Err(Status::PermissionDenied),
            "a token acts for its own application only"
        );
        assert_eq!(
            status(authorise(&token(PlanoAuth, &[]), None, access)),
            Err(Status::PermissionDenied)
        );
    }

    #[test]
    fn own_session_routes_take_any_session_and_no_token() {
        let guest = session(None, &[]);
        assert_eq!(
            status(authorise(&guest, Some(PlanoX2), Access::OwnSession)),
            Ok(PlanoX2)
        );
        assert_eq!(
            status(authorise(
                &token(PlanoAuth, &[UPDATE]),
                None,
                Access::OwnSession
            )),
            Err(Status::PermissionDenied)
        );
    }

    #[test]
    fn user_session_routes_take_a_users_session_only() {
        let user = session(Some(4), &[]);
        assert_eq!(
            status(authorise(&user, None, Access::UserSession)),
            Ok(PlanoAuth)
        );
        let guest = session(None, &[]);
        assert_eq!(
            status(authorise(&guest, None, Access::UserSession)),
            Err(Status::PermissionDenied)
        );
        let server = token(PlanoAuth, &[UPDATE]);
        assert_eq!(
            status(authorise(&server, None, Access::UserSession)),
            Err(Status::PermissionDenied)
        );
    }

    #[test]
    fn a_session_that_must_change_its_password_acts_only_on_itself() {
        let Caller::Session(mut forced) = session(Some(1), &[(PlanoAuth, UPDATE)]) else {
            unreachable!("a session caller");
        };
        forced.password_change_required = true;
        let forced = Caller::Session(forced);
        assert_eq!(
            status(authorise(&forced, None, Access::OwnSession)),
            Ok(PlanoAuth)
        );
        for access in [
            Access::UserSession,
            Access::Permission(UPDATE),
            Access::Registration(Permission::ClientsRegister),
        ] {
            assert_eq!(
                status(authorise(&forced, None, access)),
                Err(Status::PasswordChangeRequired),
                "{access:?}"
            );
        }
        let server_route = Access::ApplicationToken(Permission::SessionsCreate);
        assert_eq!(
            status(authorise(&forced, None, server_route)),
            Err(Status::PermissionDenied),
            "no session calls a server's route"
        );
    }

    #[test]
    fn a_session_owing_a_second_factor_may_enrol_one_after_its_password_change() {
        let Caller::Session(mut owing) = session(Some(1), &[(PlanoAuth, UPDATE)]) else {
            unreachable!("a session caller");
        };
        owing.second_factor_enrolment_required = true;
        let caller = Caller::Session(owing.clone());
        for access in [Access::OwnSession, Access::Enrolment] {
            assert_eq!(status(authorise(&caller, None, access)), Ok(PlanoAuth));
        }
        for access in [
            Access::UserSession,
            Access::Permission(UPDATE),
            Access::Registration(Permission::ClientsRegister),
        ] {
            assert_eq!(
                status(authorise(&caller, None, access)),
                Err(Status::SecondFactorEnrolmentRequired),
                "{access:?}"
            );
        }
        owing.password_change_required = true;
        let forced = Caller::Session(owing);
        assert_eq!(
            status(authorise(&forced, None, Access::Enrolment)),
            Err(Status::PasswordChangeRequired),
            "the password change comes first"
        );
        assert_eq!(
            status(authorise(&forced, None, Access::OwnSession)),
            Ok(PlanoAuth)
        );
    }

    #[test]
    fn server_routes_take_a_token_holding_the_permission() {
        let access = Access::ApplicationToken(Permission::SessionsCreate);
        let server = token(PlanoAuth, &[Permission::SessionsCreate]);
        assert_eq!(status(authorise(&server, None, access)), Ok(PlanoAuth));
        assert_eq!(
            status(authorise(&token(PlanoAuth, &[UPDATE]), None, access)),
            Err(Status::PermissionDenied)
        );
        let admin = session(Some(1), &[(PlanoAuth, Permission::SessionsCreate)]);
        assert_eq!(
            status(authorise(&admin, None, access)),
            Err(Status::PermissionDenied),
            "no session, whatever its role"
        );
    }

    #[test]
    fn registration_takes_a_session_without_a_record_or_a_token() {
        let access = Access::Registration(Permission::ClientsRegister);
        assert_eq!(
            status(authorise(&session(None, &[]), None, access)),
            Ok(PlanoAuth)
        );
        assert_eq!(
            status(authorise(&session(Some(4), &[]), None, access)),
            Ok(PlanoAuth),
            "an account without records"
        );
        assert_eq!(
            status(authorise(
                &session(Some(4), &[(PlanoAuth, UPDATE)]),
                None,
                access
            )),
            Err(Status::PermissionDenied),
            "a user with a record already"
        );
        let server = token(PlanoOrder, &[Permission::ClientsRegister]);
        assert_eq!(status(authorise(&server, None, access)), Ok(PlanoOrder));
        assert_eq!(
            status(authorise(&token(PlanoOrder, &[]), None, access)),
            Err(Status::PermissionDenied)
        );
    }
}
