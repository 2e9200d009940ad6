//! `POST /api/v1/users/recovery_codes_regenerate`: replaces the session's user's recovery
//! codes (recent proof of who they are), with a `totp_code` or a `recovery_code`. The
//! answer is `data.recovery_codes`, ten new codes shown this once; the old ones stop
//! working.

use planoauth::domain::Limits;
use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::secrets::SecretBox;
use planoauth::use_cases::regenerate_recovery_codes;
use planoauth::values::second_factor_code;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct UsersRecoveryCodesRegenerate {
    pub secrets: SecretBox,
    /// Tells the owner of the new codes (and of a recovery code used).
    pub mailer: Mailer,
    pub limits: Limits,
}

impl Endpoint for UsersRecoveryCodesRegenerate {
    const ROUTE: Route = routes::USERS_RECOVERY_CODES_REGENERATE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let code = second_factor_code(&mut params)?;
        params.finish()?;
        regenerate_recovery_codes(ctx, &self.secrets, &self.mailer, &code, &self.limits).await
    }
}
