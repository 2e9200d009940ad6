//! `POST /api/v1/users/password_update` (sensitive params): the signed-in user changes
//! their password (see [`planoauth::use_cases::change_password`]). The answer carries the
//! caller's session under a new token in `session`; `data.ended` says how many other
//! sessions of the user ended.

use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::use_cases::change_password;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct UsersPasswordUpdate;

impl Endpoint for UsersPasswordUpdate {
    const ROUTE: Route = routes::USERS_PASSWORD_UPDATE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let current_password = params.required::<String>("current_password")?;
        let new_password = params.required::<String>("new_password")?;
        params.finish()?;
        change_password(ctx, current_password, new_password).await
    }
}
