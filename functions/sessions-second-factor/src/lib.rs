//! `POST /api/v1/sessions/second_factor`, called by the application's server whose
//! `sessions/create` answered `second-factor-required`: with that answer's `challenge`
//! and a `totp_code` or a `recovery_code`, opens the session as `sessions/create` would
//! have (with the `remember_me` it was asked for; `session_view`).

use planoauth::domain::Limits;
use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::pipeline::Repeat;
use planoauth::routes::{self, Route};
use planoauth::secrets::SecretBox;
use planoauth::store::idempotency::{Answer, IdempotencyKey};
use planoauth::use_cases::{CHALLENGE, finish_second_factor_sign_in, repeat_opened_session};
use planoauth::values::second_factor_code;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct SessionsSecondFactor {
    pub secrets: SecretBox,
    /// Tells the owner of a recovery code used, or a used TOTP code sent again.
    pub mailer: Mailer,
    pub limits: Limits,
}

impl Endpoint for SessionsSecondFactor {
    const ROUTE: Route = routes::SESSIONS_SECOND_FACTOR;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let challenge = params.required::<String>(CHALLENGE)?;
        let code = second_factor_code(&mut params)?;
        params.finish()?;
        finish_second_factor_sign_in(
            ctx,
            &self.secrets,
            &self.mailer,
            &challenge,
            &code,
            &self.limits,
        )
        .await
    }

    async fn replay(
        &self,
        repeat: &Repeat<'_>,
        key: &IdempotencyKey,
        answer: &Answer,
    ) -> Result<Reply, ApiError> {
        repeat_opened_session(repeat, key, answer).await
    }
}
