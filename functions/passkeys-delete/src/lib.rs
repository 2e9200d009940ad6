//! `POST /api/v1/passkeys/delete`: removes one of the session's user's passkeys
//! (`passkey_id`), with a recent proof of who they are, unless it is the account's last
//! way to sign in. The answer is the removed passkey; its owner is told.

use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::use_cases::delete_passkey;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct PasskeysDelete {
    /// Sends the security notice of the removal.
    pub mailer: Mailer,
}

impl Endpoint for PasskeysDelete {
    const ROUTE: Route = routes::PASSKEYS_DELETE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let passkey_id = params.required::<String>("passkey_id")?;
        params.finish()?;
        delete_passkey(ctx, &self.mailer, &passkey_id).await
    }
}
