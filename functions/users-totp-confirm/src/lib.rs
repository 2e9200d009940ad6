//! `POST /api/v1/users/totp_confirm`: turns TOTP on with the enrolment `ceremony` names,
//! once `totp_code` is the new secret's code now (it counts as used). The answer is
//! `data.recovery_codes`, ten single-use codes shown this once.

use planoauth::domain::TOTP_CODE;
use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::secrets::SecretBox;
use planoauth::use_cases::{CEREMONY, confirm_totp};
use planoauth::values::TotpCode;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct UsersTotpConfirm {
    pub secrets: SecretBox,
    /// Tells the owner that TOTP was turned on.
    pub mailer: Mailer,
}

impl Endpoint for UsersTotpConfirm {
    const ROUTE: Route = routes::USERS_TOTP_CONFIRM;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let ceremony = params.required::<String>(CEREMONY)?;
        let code = params.required::<TotpCode>(TOTP_CODE)?;
        params.finish()?;
        confirm_totp(ctx, &self.secrets, &self.mailer, &ceremony, &code.0).await
    }
}
