//! `POST /api/v1/users/client_register` (sensitive params): registers a client.
//!
//! - With a guest session, it creates the user and the client record, and the same
//!   session acts for the new client from then on (it is returned in `session`).
//! - With the session of a user who has an account but no record (told
//!   `client-required`), it adds the client record to that account, whose password
//!   becomes the one given.
//! - With an application token holding `clients.register`, it registers the client
//!   directly.
//!
//! Everything is one transaction with the email claim (and the session's change), so a
//! failure leaves nothing behind and an address is never registered twice.

use planoauth::authenticate::Caller;
use planoauth::authorise::Application;
use planoauth::params::Params;
use planoauth::passwords;
use planoauth::routes::{self, Route};
use planoauth::store::clients::{Client, Registration};
use planoauth::store::sessions::{Grants, Session};
use planoauth::store::users::PROFILE_CLIENT;
use planoauth::values::{DEFAULT_LANGUAGE, Email, Language, Phone, Text};
use planoauth::view::View;
use planoauth::{ApiError, Ctx, Endpoint, Reply};
use std::collections::HashMap;

/// The role a client holds in every application.
pub const CLIENT_ROLE: &str = "client";

pub struct UsersClientRegister;

impl Endpoint for UsersClientRegister {
    const ROUTE: Route = routes::USERS_CLIENT_REGISTER;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let email = params.required::<Email>("email")?;
        let password = params.required::<String>("password")?;
        let first_name = params.required::<Text>("first_name")?.0;
        let last_name = params.required::<Text>("last_name")?.0;
        let phone = params.required::<Phone>("phone")?.0;
        let company = params.optional::<Text>("company")?.map(|c| c.0);
        let language = params
            .optional::<Language>("language")?
            .map_or_else(|| DEFAULT_LANGUAGE.to_owned(), |l| l.0);
        let view = params.optional::<View>("view")?.unwrap_or_default();
        params.finish()?;
        let password_hash = passwords::accept_new("password", password, email.as_str()).await?;

        let session = ctx.caller.session();
        let existing_user = session.and_then(|s| s.user_id);
        let id = match existing_user {
            Some(id) => id,
            None => ctx.app.counters().next("users").await?,
        };
        let client_roles: Vec<(Application, &str)> = Application::ALL
            .iter()
            .map(|app| (*app, CLIENT_ROLE))
            .collect();
        let record = Client {
            id,
            email: email.as_str().to_owned(),
            first_name,
            last_name,
            phone,
            company,
            language,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        let adopted = match session {
            Some(session) => {
                let grants = grants_after_registering(ctx, session, id).await?;
                let mut adopted = session.clone();
                adopted.user_id = Some(id);
                adopted.profiles.clone_from(&grants.profiles);
                adopted.permissions.clone_from(&grants.permissions);
                Some((adopted, grants))
            }
            None => None,
        };
        let registration = Registration {
            record: &record,
            email: &email,
            password_hash: &password_hash,
            roles: &client_roles,
            existing_account: existing_user.is_some(),
            session: session.zip(adopted.as_ref().map(|(_, grants)| grants)),
        };
        let data = record.view(view);
        let claim = ctx.claim(Some(&data), Some(id), None)?;
        ctx.app.clients().register(&registration, claim).await?;
        Ok(match (adopted, ctx.caller) {
            (Some((session, _)), Caller::Session(_)) => Reply {
                data: Some(data),
                session: Some(session.view(ctx.session_view)),
            },
            _ => Reply::data(data),
        })
    }
}

/// What the registering session may do once the user is a client: the client role in
/// every application, which registering gives the account (replacing any role it held).
async fn grants_after_registering(
    ctx: &Ctx<'_>,
    session: &Session,
    user_id: i64,
) -> Result<Grants, ApiError> {
    let roles: HashMap<String, String> = Application::ALL
        .iter()
        .map(|application| (application.slug().to_owned(), CLIENT_ROLE.to_owned()))
        .collect();
    let mut profiles = session.profiles.clone();
    if !profiles.iter().any(|p| p == PROFILE_CLIENT) {
        profiles.push(PROFILE_CLIENT.to_owned());
    }
    Ok(Grants {
        user_id,
        profiles,
        permissions: ctx.app.roles().permissions(&roles).await?,
    })
}
