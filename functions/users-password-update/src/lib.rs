//! `POST /api/v1/users/password_update` (sensitive params): the signed-in user changes
//! their password (see [`planoauth::use_cases::change_password`]). The answer carries the
//! caller's session under a new token in `session`; `data.ended` says how many other
//! sessions of the user ended.

use planoauth::domain::Limits;
use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::use_cases::change_password;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct UsersPasswordUpdate {
    /// Sends the security notice of the change.
    pub mailer: Mailer,
    /// Wrong current passwords, on the account's sign-in budget.
    pub limits: Limits,
}

impl Endpoint for UsersPasswordUpdate {
    const ROUTE: Route = routes::USERS_PASSWORD_UPDATE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let current_password = params.required::<String>("current_password")?;
        let new_password = params.required::<String>("new_password")?;
        params.finish()?;
        change_password(
            ctx,
            &self.mailer,
            current_password,
            new_password,
            &self.limits,
        )
        .await
    }
}
