//! `POST /api/v1/users/client_register` (sensitive params): registers a client (see
//! [`planoauth::use_cases::register_client`]) and returns the client's record in `data`,
//! and, when a session registered, the new session that replaces it, with its token.

use planoauth::domain::{DEFAULT_LANGUAGE, Email};
use planoauth::params::Params;
use planoauth::pipeline::Repeat;
use planoauth::routes::{self, Route};
use planoauth::store::idempotency::{Answer, IdempotencyKey};
use planoauth::use_cases::{NewClient, RegistrationLimits, register_client, repeat_registration};
use planoauth::values::{Language, Phone, Text};
use planoauth::view::View;
use planoauth::{ApiError, Ctx, Endpoint, Reply};

#[derive(Default)]
pub struct UsersClientRegister {
    pub limits: RegistrationLimits,
}

impl Endpoint for UsersClientRegister {
    const ROUTE: Route = routes::USERS_CLIENT_REGISTER;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let new = NewClient {
            email: params.required::<Email>("email")?,
            password: params.required::<String>("password")?,
            current_password: params.optional::<String>("current_password")?,
            first_name: params.required::<Text>("first_name")?.0,
            last_name: params.required::<Text>("last_name")?.0,
            phone: params.required::<Phone>("phone")?.0,
            company: params.optional::<Text>("company")?.map(|c| c.0),
            language: params
                .optional::<Language>("language")?
                .map_or_else(|| DEFAULT_LANGUAGE.to_owned(), |l| l.0),
        };
        let view = params.optional::<View>("view")?.unwrap_or_default();
        params.finish()?;
        register_client(ctx, new, view, &self.limits).await
    }

    async fn replay(
        &self,
        repeat: &Repeat<'_>,
        key: &IdempotencyKey,
        answer: &Answer,
    ) -> Result<Reply, ApiError> {
        repeat_registration(repeat, key, answer).await
    }
}
