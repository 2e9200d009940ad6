//! `POST /api/v1/users/password_reset` (sensitive params): sets a new password with the
//! token a reset email carried, and ends every session of the user (see
//! [`planoauth::use_cases::reset_password`]). `data.ended` says how many ended.

use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::use_cases::reset_password;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct UsersPasswordReset {
    /// Sends the security notice of the reset.
    pub mailer: Mailer,
}

impl Endpoint for UsersPasswordReset {
    const ROUTE: Route = routes::USERS_PASSWORD_RESET;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let reset_token = params.required::<String>("reset_token")?;
        let new_password = params.required::<String>("new_password")?;
        params.finish()?;
        reset_password(ctx, &self.mailer, reset_token, new_password).await
    }
}
