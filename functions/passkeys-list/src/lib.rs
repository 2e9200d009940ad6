//! `POST /api/v1/passkeys/list`: the session's user's passkeys, oldest first, in
//! `data.passkeys` (`id`, `name`, `created_at`, `last_used_at`, `backed_up`).

use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::use_cases::list_passkeys;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct PasskeysList;

impl Endpoint for PasskeysList {
    const ROUTE: Route = routes::PASSKEYS_LIST;

    async fn handle(&self, ctx: &Ctx<'_>, params: Params) -> Result<Reply, ApiError> {
        params.finish()?;
        list_passkeys(ctx).await
    }
}
