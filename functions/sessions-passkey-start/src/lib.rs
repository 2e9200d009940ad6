//! `POST /api/v1/sessions/passkey_start`, called by an application's server with its
//! application token: starts a passkey sign-in, for the account `email` names or, without
//! it, usernameless. The answer (`data.ceremony`, `data.options` for the browser's
//! `parseRequestOptionsFromJSON`) is alike whether or not the address has an account.

use planoauth::domain::Email;
use planoauth::params::Params;
use planoauth::passkeys::RelyingParty;
use planoauth::routes::{self, Route};
use planoauth::use_cases::start_passkey_sign_in;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct SessionsPasskeyStart {
    pub party: RelyingParty,
}

impl Endpoint for SessionsPasskeyStart {
    const ROUTE: Route = routes::SESSIONS_PASSKEY_START;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let email = params.optional::<Email>("email")?;
        params.finish()?;
        start_passkey_sign_in(ctx, &self.party, email).await
    }
}
