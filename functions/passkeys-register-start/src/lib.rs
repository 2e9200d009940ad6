//! `POST /api/v1/passkeys/register_start`: starts enrolling a passkey for the session's
//! user, whose proof of who they are must be recent (15 minutes). `name` (optional, 1 to
//! 64 characters) names the passkey. The answer is `data.ceremony`, which the finish
//! names, and `data.options`, for the browser's `parseCreationOptionsFromJSON`.

use planoauth::params::Params;
use planoauth::passkeys::RelyingParty;
use planoauth::routes::{self, Route};
use planoauth::use_cases::start_passkey_registration;
use planoauth::values::PasskeyName;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct PasskeysRegisterStart {
    pub party: RelyingParty,
}

impl Endpoint for PasskeysRegisterStart {
    const ROUTE: Route = routes::PASSKEYS_REGISTER_START;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let name = params.optional::<PasskeyName>("name")?.map(|name| name.0);
        params.finish()?;
        start_passkey_registration(ctx, &self.party, name).await
    }
}
