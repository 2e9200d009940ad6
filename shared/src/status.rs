//! The status catalogue: every status a PlanoAuth response can carry, with its HTTP code
//! and its message. This is the one place they are defined; the API reference's table and the
//! tests read them from here.

/// A documented response status. The slug is the `status` field of the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    ActionSuccessful,
    InvalidToken,
    SessionExpired,
    ClientRequired,
    MissingParam,
    InvalidParam,
    ApplicationCrash,
    EmailSendFailed,
    InvalidContentType,
    RouteNonExistent,
    NoParamsDecoded,
    InvalidEncodedParams,
    RouteNotFound,
    IdentifyRequestError,
    ServiceNotFound,
    /// Added by PlanoAuth: the caller is authenticated but its role lacks the permission.
    PermissionDenied,
    /// Added by PlanoAuth: too many failed attempts (per address or per source) within a
    /// window.
    TooManyAttempts,
    /// Added by PlanoAuth: other requests kept the same records busy for the whole retry
    /// budget, and nothing was changed.
    RecordBusy,
    /// Added by PlanoAuth: the session's user must replace a password someone else set
    /// (`users/password_update`) before anything but showing or ending the session.
    PasswordChangeRequired,
    /// Added by PlanoAuth: adding a way to sign in needs a session whose user proved who
    /// they are within the last 15 minutes.
    ReauthenticationRequired,
    /// Added by PlanoAuth: the password was right, and the account has a second factor:
    /// `sessions/second_factor` with the answer's challenge opens the session.
    SecondFactorRequired,
    /// Added by PlanoAuth: a role of the session's user requires a second factor, and the
    /// user has none: enrol one (TOTP or a passkey) before anything else.
    SecondFactorEnrolmentRequired,
}

impl Status {
    /// Every status, in the order the documentation lists them.
    pub const ALL: [Status; 22] = [
        Status::ActionSuccessful,
        Status::InvalidToken,
        Status::SessionExpired,
        Status::ClientRequired,
        Status::MissingParam,
        Status::InvalidParam,
        Status::ApplicationCrash,
        Status::EmailSendFailed,
        Status::InvalidContentType,
        Status::RouteNonExistent,
        Status::NoParamsDecoded,
        Status::InvalidEncodedParams,
        Status::RouteNotFound,
        Status::IdentifyRequestError,
        Status::ServiceNotFound,
        Status::PermissionDenied,
        Status::TooManyAttempts,
        Status::RecordBusy,
        Status::PasswordChangeRequired,
        Status::ReauthenticationRequired,
        Status::SecondFactorRequired,
        Status::SecondFactorEnrolmentRequired,
    ];

    pub const fn slug(self) -> &'static str {
        self.entry().0
    }

    pub const fn http_code(self) -> u16 {
        self.entry().1
    }

    pub const fn message(self) -> &'static str {
        self.entry().2
    }

    /// Looks a status up by its slug.
    pub fn from_slug(slug: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.slug() == slug)
    }

    const fn entry(self) -> (&'static str, u16, &'static str) {
        match self {
            Status::ActionSuccessful => (
                "action-successful",
                200,
                "The request was successful. If the request returns data, it is in the data key.",
            ),
            Status::InvalidToken => (
                "invalid-token",
                401,
                "The authentication token passed is invalid.",
            ),
            Status::SessionExpired => (
                "session-expired",
                401,
                "The session is older than seven days or has not been used in 72 hours. Please sign in again.",
            ),
            Status::ClientRequired => (
                "client-required",
                401,
                "The user has no client, employee or liaison record. Register as a client with /api/v1/users/client_register using this session.",
            ),
            Status::MissingParam => (
                "missing-param",
                400,
                "A required parameter was not passed with the request.",
            ),
            Status::InvalidParam => (
                "invalid-param",
                400,
                "A parameter passed with the request is invalid.",
            ),
            Status::ApplicationCrash => (
                "application-crash",
                500,
                "There was an internal server error. Please try again later.",
            ),
            Status::EmailSendFailed => (
                "email-send-failed",
                500,
                "The email could not be sent. The team has been notified and will investigate.",
            ),
            Status::InvalidContentType => (
                "invalid-content-type",
                400,
                "The request parameters could not be read: send a JSON object with Content-Type: application/json.",
            ),
            Status::RouteNonExistent => {
                ("route-non-existent", 500, "The HTTP route does not exist.")
            }
            Status::NoParamsDecoded => (
                "no-params-decoded",
                400,
                "The request body was decoded, but no parameters were found.",
            ),
            Status::InvalidEncodedParams => (
                "invalid-encoded-params",
                400,
                "The request body could not be decoded: this route takes its JSON parameters base64-encoded.",
            ),
            Status::RouteNotFound => (
                "route-not-found",
                404,
                "The route requested is not deployed.",
            ),
            Status::IdentifyRequestError => (
                "identify-request-error",
                500,
                "There was an internal server error before the route could be identified. Please try again later.",
            ),
            Status::ServiceNotFound => (
                "service-not-found",
                404,
                "The service of the route requested is not deployed.",
            ),
            Status::PermissionDenied => (
                "permission-denied",
                403,
                "The caller's role does not allow this request.",
            ),
            Status::TooManyAttempts => (
                "too-many-attempts",
                429,
                "Too many failed attempts: try again later.",
            ),
            Status::RecordBusy => (
                "record-busy",
                409,
                "Other requests were changing the same records at the same moment, and nothing was changed. Please try again.",
            ),
            Status::PasswordChangeRequired => (
                "password-change-required",
                403,
                "This account's password must be replaced (it was set for its user, or it appears in lists of breached passwords): choose a new one with users/password_update first.",
            ),
            Status::ReauthenticationRequired => (
                "reauthentication-required",
                403,
                "This needs a recent proof of who you are: sign in again, then retry within 15 minutes.",
            ),
            Status::SecondFactorRequired => (
                "second-factor-required",
                401,
                "The password is right, and this account signs in with a second factor: send the challenge with a code to sessions/second_factor, or sign in with a passkey (data.methods says which).",
            ),
            Status::SecondFactorEnrolmentRequired => (
                "second-factor-enrolment-required",
                403,
                "A role of this account requires a second factor: turn on TOTP (users/totp_enroll) or add a passkey first.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn slugs_are_unique_and_round_trip() {
        let slugs: HashSet<_> = Status::ALL.iter().map(|s| s.slug()).collect();
        assert_eq!(slugs.len(), Status::ALL.len());
        for status in Status::ALL {
            assert_eq!(Status::from_slug(status.slug()), Some(status));
        }
        assert_eq!(Status::from_slug("mandrill-email-failed"), None);
    }

    #[test]
    fn documented_codes_are_kept() {
        let documented = [
            ("action-successful", 200),
            ("invalid-token", 401),
            ("session-expired", 401),
            ("client-required", 401),
            ("missing-param", 400),
            ("invalid-param", 400),
            ("application-crash", 500),
            ("email-send-failed", 500),
            ("invalid-content-type", 400),
            ("route-non-existent", 500),
        ];
        for (slug, code) in documented {
            assert_eq!(
                Status::from_slug(slug).map(Status::http_code),
                Some(code),
                "{slug}"
            );
        }
    }
}
