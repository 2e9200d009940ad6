//! `POST /api/v1/users/totp_disable`: turns TOTP off for the session's user (recent proof
//! of who they are), with a `totp_code` or a `recovery_code`; the recovery codes go with
//! it.

use planoauth::domain::Limits;
use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::secrets::SecretBox;
use planoauth::use_cases::disable_totp;
use planoauth::values::second_factor_code;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct UsersTotpDisable {
    pub secrets: SecretBox,
    /// Tells the owner that TOTP was turned off (and a recovery code used).
    pub mailer: Mailer,
    pub limits: Limits,
}

impl Endpoint for UsersTotpDisable {
    const ROUTE: Route = routes::USERS_TOTP_DISABLE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let code = second_factor_code(&mut params)?;
        params.finish()?;
        disable_totp(ctx, &self.secrets, &self.mailer, &code, &self.limits).await
    }
}
