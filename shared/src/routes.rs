//! The route registry: every route PlanoAuth serves, declared once. `template.yaml`, the
//! local server and the API reference (docs/api.md) are checked against this list by the tests.

use crate::authorise::Access;
use crate::domain::Permission;
use crate::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The HTTP path; every route is a POST.
    pub path: &'static str,
    /// The Lambda function (and workspace crate) that serves it.
    pub function: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Whether the body arrives base64-encoded because it carries a password.
    pub sensitive_params: bool,
    /// Whether the route takes an `Idempotency-Key` header (the creates).
    pub idempotent: bool,
    /// The parameter naming the person the route acts on (their user id), on a route that
    /// changes a person: the caller must hold at least that person's permissions wherever
    /// they hold a role (`authorise::authorise_acting_on`).
    pub acts_on: Option<&'static str>,
    /// The parameters that are secrets (passwords, tokens): never kept, not even hashed
    /// into an idempotency key's fingerprint.
    pub secret_params: &'static [&'static str],
    /// On a route that takes an `Idempotency-Key`, the secret parameter a repeat must
    /// carry again to be answered: the password it proves against the account the first
    /// request recorded.
    pub repeat_proven_by: Option<&'static str>,
    /// Statuses only this route answers, besides those every route can.
    pub own_statuses: &'static [Status],
}

impl Route {
    /// The service the route belongs to: its resource (`employees` in
    /// `/api/v1/employees/update`). The registry can switch a whole service off.
    pub fn service(&self) -> &'static str {
        self.path.split('/').nth(3).unwrap_or(self.path)
    }

    /// Every status this route can answer: what the pipeline can answer for a route of
    /// its access and encoding, and its own.
    pub fn statuses(&self) -> Vec<Status> {
        let mut statuses = vec![
            Status::ActionSuccessful,
            Status::IdentifyRequestError,
            Status::RouteNotFound,
            Status::ServiceNotFound,
            Status::InvalidContentType,
            Status::MissingParam,
            Status::InvalidParam,
            Status::InvalidToken,
            Status::SessionExpired,
            Status::PermissionDenied,
            Status::RecordBusy,
            Status::ApplicationCrash,
        ];
        if self.sensitive_params {
            statuses.extend([Status::InvalidEncodedParams, Status::NoParamsDecoded]);
        }
        if matches!(self.access, Access::Permission(_)) {
            statuses.push(Status::ClientRequired);
        }
        if self.access.acts_for_user() {
            // A session that must change its password may act on itself only; one that
            // owes a second factor may enrol one too.
            statuses.push(Status::PasswordChangeRequired);
            if self.access != Access::Enrolment {
                statuses.push(Status::SecondFactorEnrolmentRequired);
            }
        }
        statuses.extend(self.own_statuses);
        statuses
    }

    /// The API Gateway route key, as `template.yaml` writes it.
    pub fn key(&self) -> String {
        format!("POST {}", self.path)
    }
}

pub const EMPLOYEES_UPDATE: Route = Route {
    path: "/api/v1/employees/update",
    function: "employees-update",
    access: Access::Permission(Permission::EmployeesUpdate),
    sensitive_params: false,
    idempotent: false,
    acts_on: Some("id"),
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[],
};

pub const PHOTOGRAPHERS_CREATE: Route = Route {
    path: "/api/v1/photographers/create",
    function: "photographers-create",
    access: Access::Permission(Permission::PhotographersCreate),
    sensitive_params: true,
    idempotent: true,
    acts_on: None,
    secret_params: &["password"],
    repeat_proven_by: Some("password"),
    own_statuses: &[Status::EmailSendFailed],
};

pub const SESSIONS_CREATE: Route = Route {
    path: "/api/v1/sessions/create",
    function: "sessions-create",
    access: Access::ApplicationToken(Permission::SessionsCreate),
    sensitive_params: true,
    idempotent: true,
    acts_on: None,
    secret_params: &["password"],
    repeat_proven_by: Some("password"),
    own_statuses: &[Status::TooManyAttempts, Status::SecondFactorRequired],
};

pub const SESSIONS_SHOW: Route = Route {
    path: "/api/v1/sessions/show",
    function: "sessions-show",
    access: Access::OwnSession,
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[],
};

pub const SESSIONS_DELETE: Route = Route {
    path: "/api/v1/sessions/delete",
    function: "sessions-delete",
    access: Access::OwnSession,
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[],
};

pub const USERS_CLIENT_REGISTER: Route = Route {
    path: "/api/v1/users/client_register",
    function: "users-client-register",
    access: Access::Registration(Permission::ClientsRegister),
    sensitive_params: true,
    idempotent: true,
    acts_on: None,
    secret_params: &["password", "current_password"],
    repeat_proven_by: Some("password"),
    own_statuses: &[Status::TooManyAttempts],
};

pub const USERS_PASSWORD_UPDATE: Route = Route {
    path: "/api/v1/users/password_update",
    function: "users-password-update",
    access: Access::OwnSession,
    sensitive_params: true,
    idempotent: false,
    acts_on: None,
    secret_params: &["current_password", "new_password"],
    repeat_proven_by: None,
    own_statuses: &[Status::TooManyAttempts],
};

pub const USERS_PASSWORD_FORGOT: Route = Route {
    path: "/api/v1/users/password_forgot",
    function: "users-password-forgot",
    access: Access::ApplicationToken(Permission::PasswordsReset),
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[Status::TooManyAttempts],
};

pub const USERS_PASSWORD_RESET: Route = Route {
    path: "/api/v1/users/password_reset",
    function: "users-password-reset",
    access: Access::ApplicationToken(Permission::PasswordsReset),
    sensitive_params: true,
    idempotent: false,
    acts_on: None,
    secret_params: &["reset_token", "new_password"],
    repeat_proven_by: None,
    own_statuses: &[],
};

pub const PASSKEYS_REGISTER_START: Route = Route {
    path: "/api/v1/passkeys/register_start",
    function: "passkeys-register-start",
    access: Access::Enrolment,
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[Status::ReauthenticationRequired],
};

pub const PASSKEYS_REGISTER_FINISH: Route = Route {
    path: "/api/v1/passkeys/register_finish",
    function: "passkeys-register-finish",
    access: Access::Enrolment,
    sensitive_params: false,
    idempotent: true,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[Status::ReauthenticationRequired],
};

pub const PASSKEYS_LIST: Route = Route {
    path: "/api/v1/passkeys/list",
    function: "passkeys-list",
    access: Access::UserSession,
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[],
};

pub const PASSKEYS_DELETE: Route = Route {
    path: "/api/v1/passkeys/delete",
    function: "passkeys-delete",
    access: Access::UserSession,
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[Status::ReauthenticationRequired],
};

pub const SESSIONS_PASSKEY_START: Route = Route {
    path: "/api/v1/sessions/passkey_start",
    function: "sessions-passkey-start",
    access: Access::ApplicationToken(Permission::SessionsCreate),
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[],
};

pub const SESSIONS_PASSKEY_FINISH: Route = Route {
    path: "/api/v1/sessions/passkey_finish",
    function: "sessions-passkey-finish",
    access: Access::ApplicationToken(Permission::SessionsCreate),
    sensitive_params: false,
    idempotent: true,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[Status::TooManyAttempts],
};

pub const USERS_TOTP_ENROLL: Route = Route {
    path: "/api/v1/users/totp_enroll",
    function: "users-totp-enroll",
    access: Access::Enrolment,
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &[],
    repeat_proven_by: None,
    own_statuses: &[Status::ReauthenticationRequired],
};

pub const USERS_TOTP_CONFIRM: Route = Route {
    path: "/api/v1/users/totp_confirm",
    function: "users-totp-confirm",
    access: Access::Enrolment,
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &["totp_code"],
    repeat_proven_by: None,
    own_statuses: &[Status::ReauthenticationRequired, Status::TooManyAttempts],
};

pub const USERS_TOTP_DISABLE: Route = Route {
    path: "/api/v1/users/totp_disable",
    function: "users-totp-disable",
    access: Access::UserSession,
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &["totp_code", "recovery_code"],
    repeat_proven_by: None,
    own_statuses: &[Status::ReauthenticationRequired, Status::TooManyAttempts],
};

pub const USERS_RECOVERY_CODES_REGENERATE: Route = Route {
    path: "/api/v1/users/recovery_codes_regenerate",
    function: "users-recovery-codes-regenerate",
    access: Access::UserSession,
    sensitive_params: false,
    idempotent: false,
    acts_on: None,
    secret_params: &["totp_code", "recovery_code"],
    repeat_proven_by: None,
    own_statuses: &[Status::ReauthenticationRequired, Status::TooManyAttempts],
};

pub const SESSIONS_SECOND_FACTOR: Route = Route {
    path: "/api/v1/sessions/second_factor",
    function: "sessions-second-factor",
    access: Access::ApplicationToken(Permission::SessionsCreate),
    sensitive_params: false,
    idempotent: true,
    acts_on: None,
    secret_params: &["challenge", "totp_code", "recovery_code"],
    repeat_proven_by: None,
    own_statuses: &[Status::TooManyAttempts],
};

pub const ALL: &[Route] = &[
    EMPLOYEES_UPDATE,
    PHOTOGRAPHERS_CREATE,
    SESSIONS_CREATE,
    SESSIONS_SHOW,
    SESSIONS_DELETE,
    USERS_CLIENT_REGISTER,
    USERS_PASSWORD_UPDATE,
    USERS_PASSWORD_FORGOT,
    USERS_PASSWORD_RESET,
    PASSKEYS_REGISTER_START,
    PASSKEYS_REGISTER_FINISH,
    PASSKEYS_LIST,
    PASSKEYS_DELETE,
    SESSIONS_PASSKEY_START,
    SESSIONS_PASSKEY_FINISH,
    USERS_TOTP_ENROLL,
    USERS_TOTP_CONFIRM,
    USERS_TOTP_DISABLE,
    USERS_RECOVERY_CODES_REGENERATE,
    SESSIONS_SECOND_FACTOR,
];

pub fn by_path(path: &str) -> Option<&'static Route> {
    ALL.iter().find(|route| route.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_answers_what_its_access_and_encoding_allow() {
        let update = EMPLOYEES_UPDATE.statuses();
        assert!(update.contains(&Status::ClientRequired));
        assert!(!update.contains(&Status::InvalidEncodedParams));
        let sign_in = SESSIONS_CREATE.statuses();
        assert!(sign_in.contains(&Status::InvalidEncodedParams));
        assert!(sign_in.contains(&Status::NoParamsDecoded));
        assert!(sign_in.contains(&Status::TooManyAttempts));
        assert!(!sign_in.contains(&Status::ClientRequired));
        assert!(
            PHOTOGRAPHERS_CREATE
                .statuses()
                .contains(&Status::EmailSendFailed)
        );
        for route in ALL {
            let statuses = route.statuses();
            for common in [
                Status::ActionSuccessful,
                Status::RecordBusy,
                Status::InvalidToken,
            ] {
                assert!(statuses.contains(&common), "{} {common:?}", route.path);
            }
            assert!(
                !statuses.contains(&Status::RouteNonExistent),
                "{}",
                route.path
            );
            let unique: std::collections::HashSet<_> = statuses.iter().collect();
            assert_eq!(
                unique.len(),
                statuses.len(),
                "{} lists a status twice",
                route.path
            );
        }
    }

    #[test]
    fn a_route_that_takes_a_password_declares_it_secret() {
        for route in ALL {
            let takes_password = route.secret_params.iter().any(|p| p.contains("password"));
            assert_eq!(route.sensitive_params, takes_password, "{}", route.path);
            let takes_code = route.path.contains("totp") || route.path.contains("second_factor");
            if takes_code && route != &USERS_TOTP_ENROLL {
                assert!(route.secret_params.contains(&"totp_code"), "{}", route.path);
            }
        }
        assert_eq!(EMPLOYEES_UPDATE.acts_on, Some("id"));
        for route in ALL {
            if let Some(proof) = route.repeat_proven_by {
                assert!(route.idempotent, "{}", route.path);
                assert!(route.secret_params.contains(&proof), "{}", route.path);
            }
        }
    }

    #[test]
    fn services_and_keys_come_from_the_path() {
        assert_eq!(USERS_CLIENT_REGISTER.service(), "users");
        assert_eq!(SESSIONS_SHOW.key(), "POST /api/v1/sessions/show");
        assert_eq!(by_path("/api/v1/sessions/show"), Some(&SESSIONS_SHOW));
        assert_eq!(by_path("/api/v1/sessions/shows"), None);
        let functions: std::collections::HashSet<_> = ALL.iter().map(|r| r.function).collect();
        assert_eq!(functions.len(), ALL.len(), "one function per route");
    }
}
