//! The request pipeline every endpoint runs on, a stage a step, in the order a request
//! meets them:
//!
//! 1. [`incoming`]: identify (is the route switched on?) and decode (the body, the token,
//!    where the request comes from, its idempotency key, the common parameters);
//! 2. authenticate ([`crate::authenticate`]): who the token is, with the items the route
//!    reads read in the same round trip;
//! 3. [`replay`]: a request that repeats one whose idempotency key has a record is
//!    answered as that one was;
//! 4. authorise ([`crate::authorise`]): the route's permission in the application acted
//!    in, then whether the caller may act on the person the route names;
//! 5. handle: the endpoint's own step, [`Endpoint::handle`];
//! 6. [`outgoing`]: the envelope, the metrics record and the log line;
//!
//! with [`panics`] around them, so that a handler's panic is an answer too. An endpoint
//! supplies only the handle step, and declares in its route what the stages need of it
//! (its access, whom it acts on, its secrets, what a repeat proves).

mod incoming;
mod outgoing;
mod panics;
mod replay;

use crate::app::App;
use crate::authenticate::{Caller, authenticate};
use crate::authorise::{authorise, authorise_acting_on};
use crate::domain::{
    ActedOn, Actor, Application, AuditAction, AuditEntry, Origin, RecordKind, Session,
};
use crate::error::ApiError;
use crate::metrics::RequestTimer;
use crate::params::Params;
use crate::routes::Route;
use crate::status::Status;
use crate::store::idempotency::{self as keys, IdempotencyKey};
use crate::store::{Db, ItemKey, ReadAhead};
use crate::view::View;
use incoming::Incoming;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::future::Future;

/// The parameter an application's server names its end user's address with.
pub const CLIENT_IP: &str = incoming::CLIENT_IP;

/// What a handler knows about the request besides its own parameters.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub caller: &'a Caller,
    /// The application the caller acts in (its role there was checked).
    pub application: Application,
    /// The request's time, read once from the app's clock.
    pub now: i64,
    /// How the caller wants session objects shown.
    pub session_view: View,
    /// The request's idempotency key, on a route that takes one.
    pub idempotency: Option<&'a IdempotencyKey>,
    /// Where the request came from, as the limits count it.
    pub origin: &'a Origin,
    /// API Gateway's id of the request, which its audit records carry.
    pub request_id: &'a str,
    /// The items read with the caller's token: the one [`Endpoint::read_ahead`] named,
    /// and the account of the person the route acts on.
    pub read_ahead: ReadAhead,
    /// The person the route acts on, as its authorisation found them.
    pub acted_on: Option<ActedOn>,
}

impl Ctx<'_> {
    /// The person with this user id, as the authorisation found that this caller may act
    /// on them. Asking for anyone else is a bug: the route declares the parameter that
    /// names whom it acts on, and the handler must act on that one.
    pub fn acted_on(&self, user_id: i64) -> Result<&ActedOn, ApiError> {
        self.acted_on
            .as_ref()
            .filter(|acted_on| acted_on.user_id == user_id)
            .ok_or_else(|| {
                ApiError::crash(format!(
                    "user {user_id} was not authorised as the person this request acts on"
                ))
            })
    }

    /// The audit entry of a change this request makes to `user_id`'s `record`, by the
    /// caller: the application token's id, or the session's user, in the application it
    /// acts in.
    pub fn audit(&self, action: AuditAction, user_id: i64, record: RecordKind) -> AuditEntry {
        let actor = match self.caller {
            Caller::Application(token) => Actor::Application {
                token_id: token.id.clone(),
                application: self.application,
            },
            Caller::Session(session) => Actor::User {
                user_id: session.user_id,
                application: self.application,
            },
        };
        AuditEntry::new(self.now, actor, action, user_id, record, self.request_id)
    }
}

/// What answering a repeated request takes: not the caller, as the first request may have
/// ended the token it came with (a registration replaces its session).
pub struct Repeat<'a> {
    pub app: &'a App,
    pub now: i64,
    pub session_view: View,
    /// Where the repeat came from, as the limits count it.
    pub origin: &'a Origin,
}

/// What a successful request returns.
#[derive(Debug, Default)]
pub struct Reply {
    pub data: Option<Value>,
    /// The session to show instead of the caller's: one the request opened or changed.
    pub session: Option<Value>,
}

impl Reply {
    pub fn data(data: Value) -> Self {
        Reply {
            data: Some(data),
            session: None,
        }
    }

    pub fn session(session: Value) -> Self {
        Reply {
            data: None,
            session: Some(session),
        }
    }
}

/// One route's own logic.
pub trait Endpoint: Send + Sync {
    const ROUTE: Route;

    /// Takes the route's parameters out of `params` (calling [`Params::finish`]) and does
    /// the work.
    fn handle(
        &self,
        ctx: &Ctx<'_>,
        params: Params,
    ) -> impl Future<Output = Result<Reply, ApiError>> + Send;

    /// An item the route will read, to read with the caller's token in one round trip
    /// rather than after it (its parameters are decoded, not yet checked). The handler
    /// finds it in [`Ctx::read_ahead`].
    fn read_ahead(&self, _db: &Db, _params: &Params) -> Option<ItemKey> {
        None
    }

    /// Answers a request that repeats one whose idempotency key has a record: by
    /// default, with what the first request answered.
    fn replay(
        &self,
        _repeat: &Repeat<'_>,
        _key: &IdempotencyKey,
        answer: &keys::Answer,
    ) -> impl Future<Output = Result<Reply, ApiError>> + Send {
        let again = match Status::from_slug(&answer.status) {
            Some(Status::ActionSuccessful) => Ok(Reply {
                data: answer.data.clone(),
                session: None,
            }),
            Some(status) => Err(ApiError::Partial {
                status,
                data: answer.data.clone().unwrap_or_default(),
            }),
            None => Err(ApiError::crash(format!(
                "an idempotency record holds the unknown status `{}`",
                answer.status
            ))),
        };
        std::future::ready(again)
    }
}

/// Answers one request to `endpoint`: the entry point Lambda, the local server and the
/// tests all call. It never fails and never panics; anything unexpected becomes
/// `application-crash`, logged with its cause.
pub async fn serve<E: Endpoint>(app: &App, endpoint: &E, request: Request) -> Response<Body> {
    let timer = RequestTimer::start();
    let answer = panics::caught(E::ROUTE.path, &request, process(app, endpoint, &request)).await;
    outgoing::respond(E::ROUTE.path, &request, answer, &timer)
}

/// A request's answer, before it is a response.
struct Answer {
    result: Result<Reply, ApiError>,
    /// The caller's session, shown in the response whenever one was used.
    session: Option<Session>,
    session_view: View,
    /// Whether the answer repeats an earlier request's, by its idempotency key.
    replayed: bool,
}

impl Answer {
    fn failed(error: ApiError) -> Self {
        Answer {
            result: Err(error),
            session: None,
            session_view: View::Default,
            replayed: false,
        }
    }
}

/// The stages, in order.
async fn process<E: Endpoint>(app: &App, endpoint: &E, request: &Request) -> Answer {
    let (incoming, params) = match Incoming::read(app, endpoint, request).await {
        Ok(read) => read,
        Err(error) => return Answer::failed(error),
    };
    let (caller, read_ahead) =
        authenticate(&app.db, &incoming.token, incoming.now, &incoming.also).await;
    if let Some((result, replayed)) = replay::recorded(app, endpoint, &incoming, &caller).await {
        let session = caller.ok().and_then(|caller| caller.session().cloned());
        return incoming.answer(result, session, replayed);
    }
    let caller = match caller {
        Ok(caller) => caller,
        Err((error, expired)) => return incoming.answer(Err(error), expired, false),
    };
    let handled = handle(app, endpoint, &incoming, params, &caller, read_ahead).await;
    let (result, replayed) = match handled {
        Err(ApiError::KeyClaimed) => replay::claimed(app, endpoint, &incoming).await,
        result => (result, false),
    };
    incoming.answer(result, caller.session().cloned(), replayed)
}

/// Authorises the caller (the route, then whom it acts on) and hands the request to the
/// endpoint.
async fn handle<E: Endpoint>(
    app: &App,
    endpoint: &E,
    incoming: &Incoming,
    params: Params,
    caller: &Caller,
    read_ahead: ReadAhead,
) -> Result<Reply, ApiError> {
    let application = authorise(caller, incoming.requested, E::ROUTE.access)?;
    let acted_on =
        authorise_acting_on(&app.db, caller, E::ROUTE.acts_on, &params, &read_ahead).await?;
    let ctx = Ctx {
        app,
        caller,
        application,
        now: incoming.now,
        session_view: incoming.session_view,
        idempotency: incoming.key.as_ref(),
        origin: &incoming.origin,
        request_id: &incoming.request_id,
        read_ahead,
        acted_on,
    };
    endpoint.handle(&ctx, params).await
}
