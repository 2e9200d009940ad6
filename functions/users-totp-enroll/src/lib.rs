//! `POST /api/v1/users/totp_enroll`: starts turning TOTP on for the session's user, whose
//! proof of who they are must be recent (15 minutes). The answer is `data.ceremony`,
//! which `users/totp_confirm` names, and the new secret: `data.secret` (base32, to type
//! in) and `data.otpauth_uri` (for a QR code), shown this once.

use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::secrets::SecretBox;
use planoauth::use_cases::start_totp_enrolment;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct UsersTotpEnroll {
    pub secrets: SecretBox,
}

impl Endpoint for UsersTotpEnroll {
    const ROUTE: Route = routes::USERS_TOTP_ENROLL;

    async fn handle(&self, ctx: &Ctx<'_>, params: Params) -> Result<Reply, ApiError> {
        params.finish()?;
        start_totp_enrolment(ctx, &self.secrets).await
    }
}
