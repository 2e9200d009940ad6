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
use planoauth::store::clients::Client;
use planoauth::store::sessions::Grants;
use planoauth::store::users::{NewUser, PROFILE_CLIENT};
use planoauth::store::{Outcome, Step, Steps};
use planoauth::values::{DEFAULT_LANGUAGE, Email, Language, Phone, Text};
use planoauth::view::View;
use planoauth::{ApiError, Ctx, Endpoint, Reply, Status};
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

        let users = ctx.app.users();
        let emails = ctx.app.emails();
        let mut steps = Steps::default();
        steps.push(Step::Record, ctx.app.clients().put(&record, &email)?);
        match existing_user {
            Some(id) => {
                steps.push(
                    Step::Record,
                    users.add_profile(id, PROFILE_CLIENT, &client_roles, &password_hash)?,
                );
                steps.push(
                    Step::EmailClaim,
                    emails.claim_or_keep(&email.normalized(), id)?,
                );
            }
            None => {
                let user = NewUser {
                    id,
                    roles: &client_roles,
                    profiles: &[PROFILE_CLIENT],
                    password_hash: Some(&password_hash),
                };
                steps.push(Step::Record, users.put(&user, ctx.now)?);
                steps.push(Step::EmailClaim, emails.claim(&email.normalized(), id)?);
            }
        }
        let adopted = match session {
            Some(session) => {
                let grants = grants_after_registering(
                    ctx,
                    session.profiles.clone(),
                    id,
                    existing_user.is_some(),
                )
                .await?;
                steps.push(Step::Session, ctx.app.sessions().adopt(session, &grants)?);
                let mut adopted = session.clone();
                adopted.user_id = Some(id);
                adopted.profiles = grants.profiles;
                adopted.permissions = grants.permissions;
                Some(adopted)
            }
            None => None,
        };
        match steps.run(&ctx.app.dynamodb).await? {
            Outcome::Written => {}
            Outcome::Refused(Step::EmailClaim) => {
                return Err(ApiError::invalid(
                    "email",
                    "is already used by another user",
                ));
            }
            // The session was registered or ended by another request meanwhile.
            Outcome::Refused(Step::Session) => return Err(ApiError::reject(Status::InvalidToken)),
            Outcome::Refused(Step::Record) if existing_user.is_some() => {
                return Err(ApiError::reject_because(
                    Status::PermissionDenied,
                    "This session's user already has a record.",
                ));
            }
            Outcome::Refused(_) | Outcome::Conflict => {
                return Err(ApiError::crash(format!(
                    "registering user {id} was refused"
                )));
            }
        }
        let reply = Reply::data(record.view(view));
        Ok(match (adopted, ctx.caller) {
            (Some(session), Caller::Session(_)) => Reply {
                session: Some(session.view(ctx.session_view)),
                ..reply
            },
            _ => reply,
        })
    }
}

/// What the registering session may do once the user is a client: the client role in
/// every application (besides any role the user already holds).
async fn grants_after_registering(
    ctx: &Ctx<'_>,
    mut profiles: Vec<String>,
    user_id: i64,
    existing_account: bool,
) -> Result<Grants, ApiError> {
    let mut roles = HashMap::new();
    if existing_account {
        if let Some(account) = ctx.app.users().account(user_id).await? {
            roles = account.roles;
        }
    }
    for application in Application::ALL {
        roles.insert(application.slug().to_owned(), CLIENT_ROLE.to_owned());
    }
    if !profiles.iter().any(|p| p == PROFILE_CLIENT) {
        profiles.push(PROFILE_CLIENT.to_owned());
    }
    Ok(Grants {
        user_id,
        profiles,
        permissions: ctx.app.roles().permissions(&roles).await?,
    })
}
