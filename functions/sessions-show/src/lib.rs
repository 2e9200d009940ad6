//! `POST /api/v1/sessions/show`: the caller's session, in `session` as `session_view`
//! asks. Any live session may call it, a guest's too.

use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct SessionsShow;

impl Endpoint for SessionsShow {
    const ROUTE: Route = routes::SESSIONS_SHOW;

    async fn handle(&self, _ctx: &Ctx<'_>, params: Params) -> Result<Reply, ApiError> {
        // The pipeline has checked the session and shows it with every answer.
        params.finish()?;
        Ok(Reply::default())
    }
}
