//! `POST /api/v1/sessions/delete`: signs out. The session's token is `invalid-token`
//! from then on; with `all: true`, every session of the user ends (signing out
//! everywhere). `data.ended` says how many sessions ended.

use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct SessionsDelete;

impl Endpoint for SessionsDelete {
    const ROUTE: Route = routes::SESSIONS_DELETE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let everywhere = params.optional::<bool>("all")?.unwrap_or(false);
        params.finish()?;
        let session = ctx
            .caller
            .session()
            .ok_or_else(|| ApiError::crash("sessions/delete reached without a session"))?;
        let sessions = ctx.app.sessions();
        let ended = match session.user_id {
            Some(user_id) if everywhere => sessions.end_all_for_user(user_id).await?,
            _ => usize::from(sessions.end(&session.token_hash).await?),
        };
        Ok(Reply::data(serde_json::json!({ "ended": ended })))
    }
}
