//! `POST /api/v1/sessions/delete`: signs out. The session's token is `invalid-token`
//! from then on; with `all: true`, every session of the user ends (signing out
//! everywhere). `data.ended` says how many sessions ended.

use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::use_cases::sign_out;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct SessionsDelete;

impl Endpoint for SessionsDelete {
    const ROUTE: Route = routes::SESSIONS_DELETE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let everywhere = params.optional::<bool>("all")?.unwrap_or(false);
        params.finish()?;
        let ended = sign_out(ctx, everywhere).await?;
        Ok(Reply::data(serde_json::json!({ "ended": ended })))
    }
}
