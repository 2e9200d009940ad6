//! `POST /api/v1/sessions/create` (sensitive params), called by an application's server
//! with its application token: with `email` and `password` it signs the user in;
//! without them it opens a guest session (see [`planoauth::use_cases::open_session`]).

use planoauth::domain::{Email, Limits};
use planoauth::params::Params;
use planoauth::pipeline::Repeat;
use planoauth::routes::{self, Route};
use planoauth::store::idempotency::{Answer, IdempotencyKey};
use planoauth::use_cases::{open_session, repeat_opened_session};
use planoauth::{ApiError, Ctx, Endpoint, Reply};

#[derive(Default)]
pub struct SessionsCreate {
    pub limits: Limits,
}

impl Endpoint for SessionsCreate {
    const ROUTE: Route = routes::SESSIONS_CREATE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let email = params.optional::<Email>("email")?;
        let password = params.optional::<String>("password")?;
        let remember_me = params.optional::<bool>("remember_me")?.unwrap_or(false);
        params.finish()?;
        let credentials = match (email, password) {
            (None, None) => None,
            (Some(_), None) => return Err(ApiError::missing("password")),
            (None, Some(_)) => return Err(ApiError::missing("email")),
            (Some(email), Some(password)) => Some((email, password)),
        };
        open_session(ctx, credentials, remember_me, &self.limits).await
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
