//! `POST /api/v1/passkeys/register_finish`: finishes enrolling a passkey with the
//! authenticator's answer (`credential`, the browser's `credential.toJSON()`) to the
//! ceremony this session started (`ceremony`). The answer is the passkey; its owner is
//! told by a security notice.

use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::passkeys::RelyingParty;
use planoauth::routes::{self, Route};
use planoauth::use_cases::{CEREMONY, CREDENTIAL, finish_passkey_registration};
use planoauth::values::CredentialJson;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct PasskeysRegisterFinish {
    pub party: RelyingParty,
    /// Sends the security notice of the new passkey.
    pub mailer: Mailer,
}

impl Endpoint for PasskeysRegisterFinish {
    const ROUTE: Route = routes::PASSKEYS_REGISTER_FINISH;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let ceremony = params.required::<String>(CEREMONY)?;
        let credential = params.required::<CredentialJson>(CREDENTIAL)?;
        params.finish()?;
        finish_passkey_registration(ctx, &self.party, &self.mailer, &ceremony, &credential.0).await
    }
}
