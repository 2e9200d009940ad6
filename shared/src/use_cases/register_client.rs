//! Registering a client.
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

use crate::domain::{Application, Client, Email, Grants, Profile, Session};
use crate::error::ApiError;
use crate::passwords;
use crate::pipeline::{Ctx, Reply};
use crate::store::clients::Registration;
use crate::view::{Show, View};
use std::collections::BTreeMap;

/// The role a client holds in every application.
pub const CLIENT_ROLE: &str = "client";

/// A client as the request describes them.
pub struct NewClient {
    pub email: Email,
    /// The password, in the clear only until it is hashed.
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub company: Option<String>,
    pub language: String,
}

pub async fn register_client(ctx: &Ctx<'_>, new: NewClient, view: View) -> Result<Reply, ApiError> {
    let password_hash = passwords::accept_new("password", new.password, new.email.as_str()).await?;
    let session = ctx.caller.session();
    let existing_user = session.and_then(|s| s.user_id);
    let id = match existing_user {
        Some(id) => id,
        None => ctx.app.db.counters().next("users").await?,
    };
    let roles: Vec<(Application, &str)> = Application::ALL
        .iter()
        .map(|app| (*app, CLIENT_ROLE))
        .collect();
    let record = Client {
        id,
        email: new.email.as_str().to_owned(),
        first_name: new.first_name,
        last_name: new.last_name,
        phone: new.phone,
        company: new.company,
        language: new.language,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    let grants = match session {
        Some(session) => Some(grants_after_registering(ctx, session, id).await?),
        None => None,
    };
    let registration = Registration {
        record: &record,
        email: &new.email,
        password_hash: &password_hash,
        roles: &roles,
        existing_account: existing_user.is_some(),
        session: session.zip(grants.as_ref()),
    };
    let data = record.show(view);
    let claim = ctx.claim(Some(&data), Some(id), None)?;
    ctx.app.db.clients().register(&registration, claim).await?;
    Ok(match session.zip(grants.as_ref()) {
        Some((session, grants)) => Reply {
            data: Some(data),
            session: Some(session.adopted_by(grants).show(ctx.session_view)),
        },
        None => Reply::data(data),
    })
}

/// What the registering session may do once the user is a client: the client role in
/// every application, which registering gives the account (replacing any role it held).
async fn grants_after_registering(
    ctx: &Ctx<'_>,
    session: &Session,
    user_id: i64,
) -> Result<Grants, ApiError> {
    let roles: BTreeMap<Application, String> = Application::ALL
        .iter()
        .map(|application| (*application, CLIENT_ROLE.to_owned()))
        .collect();
    let mut profiles = session.profiles.clone();
    if !profiles.contains(&Profile::Client) {
        profiles.push(Profile::Client);
    }
    Ok(Grants {
        user_id,
        profiles,
        permissions: ctx.app.db.roles().permissions(&roles).await?,
    })
}
