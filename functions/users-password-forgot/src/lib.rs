//! `POST /api/v1/users/password_forgot`: emails a password reset link to `email` if it
//! has an account, and answers the same, at the same time, either way (see
//! [`planoauth::use_cases::request_password_reset`]).

use planoauth::domain::Email;
use planoauth::mail::Mailer;
use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::use_cases::{ResetRequests, request_password_reset};
use planoauth::{ApiError, Ctx, Endpoint, Reply};

pub struct UsersPasswordForgot {
    pub mailer: Mailer,
    pub pacing: ResetRequests,
}

impl Endpoint for UsersPasswordForgot {
    const ROUTE: Route = routes::USERS_PASSWORD_FORGOT;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let email = params.required::<Email>("email")?;
        params.finish()?;
        request_password_reset(ctx, &self.mailer, email, &self.pacing).await
    }
}
