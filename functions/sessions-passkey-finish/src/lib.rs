//! `POST /api/v1/sessions/passkey_finish`, called by the application's server that
//! started the ceremony: signs the user in with the authenticator's answer (`credential`)
//! to it (`ceremony`), opening a session exactly as `sessions/create` answers one
//! (`remember_me`, `session_view`). A passkey that verified its user counts as two
//! factors.

use planoauth::domain::Limits;
use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::passkeys::RelyingParty;
use planoauth::pipeline::Repeat;
use planoauth::routes::{self, Route};
use planoauth::store::idempotency::{Answer, IdempotencyKey};
use planoauth::use_cases::{CEREMONY, CREDENTIAL, finish_passkey_sign_in, repeat_opened_session};
use planoauth::values::CredentialJson;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct SessionsPasskeyFinish {
    pub party: RelyingParty,
    /// Tells an owner of a passkey whose counter went backwards.
    pub mailer: Mailer,
    pub limits: Limits,
}

impl Endpoint for SessionsPasskeyFinish {
    const ROUTE: Route = routes::SESSIONS_PASSKEY_FINISH;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let ceremony = params.required::<String>(CEREMONY)?;
        let credential = params.required::<CredentialJson>(CREDENTIAL)?;
        let remember_me = params.optional::<bool>("remember_me")?.unwrap_or(false);
        params.finish()?;
        finish_passkey_sign_in(
            ctx,
            &self.party,
            &self.mailer,
            &ceremony,
            &credential.0,
            remember_me,
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
