//! The request pipeline every endpoint runs on: identify → decode → authenticate →
//! authorise (the route, then whom it acts on) → handle → respond. An endpoint supplies
//! only the handle step.

use crate::app::App;
use crate::authenticate::{Caller, authenticate, take_token};
use crate::authorise::{acted_on_key, authorise, authorise_acting_on};
use crate::decode::decode;
use crate::domain::{
    ActedOn, Actor, Application, AuditAction, AuditEntry, Origin, RecordKind, Session,
};
use crate::error::ApiError;
use crate::idempotency;
use crate::identify::identify;
use crate::metrics::{self, RequestRecord, RequestTimer};
use crate::params::Params;
use crate::respond::envelope;
use crate::routes::Route;
use crate::status::Status;
use crate::store::idempotency::{self as keys, IdempotencyKey};
use crate::store::{Db, ItemKey, ReadAhead, StoreError};
use crate::tokens::TokenKind;
use crate::values::ClientIp;
use crate::view::Show;
use crate::view::View;
use aws_sdk_dynamodb::types::TransactWriteItem;
use futures_util::FutureExt;
use lambda_http::http::HeaderValue;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;
use std::error::Error;
use std::future::Future;
use std::panic::AssertUnwindSafe;

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

    /// The idempotency key's claim, recording a successful answer (its `data`, the
    /// account whose password the request carried, the session it opened), for the
    /// transaction that does the work. `None` without a key.
    pub fn claim(
        &self,
        data: Option<&Value>,
        user_id: Option<i64>,
        session_hash: Option<&str>,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let Some(key) = self.idempotency else {
            return Ok(None);
        };
        let answer = keys::Answer {
            status: Status::ActionSuccessful.slug().to_owned(),
            data: data.cloned(),
            user_id,
            session_hash: session_hash.map(str::to_owned),
        };
        self.app
            .db
            .idempotency()
            .claim(key, &answer, self.now)
            .map(Some)
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
    let route = E::ROUTE.path;
    let request_id = request_id(&request);
    let answer = AssertUnwindSafe(process(app, endpoint, &request))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            // The panic hook has logged the panic's message and location.
            tracing::error!(route, request_id, "handler panicked");
            Answer::failed(ApiError::crash("handler panicked"))
        });
    let session = answer.session.as_ref().map(|s| s.show(answer.session_view));
    let replayed = answer.replayed;
    let (status, mut response) = match answer.result {
        Ok(reply) => {
            let status = Status::ActionSuccessful;
            let session = reply.session.or(session);
            (
                status,
                envelope(status, status.message(), reply.data, session),
            )
        }
        Err(error) => {
            if let ApiError::Crash(cause) = &error {
                tracing::error!(route, request_id, cause = %causes(cause.as_ref()), "request failed");
            }
            let status = error.status();
            let message = error.message();
            let data = match error {
                ApiError::Partial { data, .. } => Some(data),
                _ => None,
            };
            (status, envelope(status, &message, data, session))
        }
    };
    if replayed {
        // As the idempotency drafts name it: the answer is a replay of an earlier one.
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    metrics::emit(Some(RequestRecord {
        route,
        status: status.slug(),
        timer: &timer,
    }));
    tracing::info!(
        route,
        request_id,
        status = status.slug(),
        replayed,
        duration_ms = timer.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

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

async fn process<E: Endpoint>(app: &App, endpoint: &E, request: &Request) -> Answer {
    let mut session = None;
    let mut session_view = View::Default;
    let mut replayed = false;
    let result = async {
        identify(&app.db, &app.switches, &E::ROUTE).await?;
        let mut params = decode(request, E::ROUTE.sensitive_params)?;
        let token = take_token(&mut params, request)?;
        let origin = origin(request, &token, &mut params)?;
        let key = idempotency::key_of(request, &E::ROUTE, &token, &params)?;
        // Kept only to prove that a repeated request carries the first one's password.
        let password = key.as_ref().and_then(|_| {
            params
                .remaining()
                .get("password")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let requested = params.optional::<Application>("application")?;
        session_view = params.optional::<View>("session_view")?.unwrap_or_default();
        let now = app.clock.now();
        let also: Vec<ItemKey> = endpoint
            .read_ahead(&app.db, &params)
            .into_iter()
            .chain(acted_on_key(&app.db, E::ROUTE.acts_on, &params))
            .collect();
        let (authenticated, read_ahead) = authenticate(&app.db, &token, now, &also).await;
        let repeat = Repeat {
            app,
            now,
            session_view,
            origin: &origin,
        };
        // A key's record belongs to the token that made its first request, so a repeat is
        // answered even when that request ended the session token it came with (as a
        // registration does). An application token must still be good.
        let may_repeat = authenticated.is_ok() || TokenKind::of(&token) == Some(TokenKind::Session);
        if let (Some(key), true) = (&key, may_repeat) {
            if let Some(recorded) = app.db.idempotency().find(&key.key_hash, now).await? {
                session = authenticated
                    .ok()
                    .and_then(|caller| caller.session().cloned());
                let again = answer_again(endpoint, &repeat, key, recorded, password).await;
                replayed = answered_again(&again);
                return again;
            }
        }
        let caller = authenticated.map_err(|(error, expired)| {
            session = expired;
            error
        })?;
        session = caller.session().cloned();
        let application = authorise(&caller, requested, E::ROUTE.access)?;
        let acted_on =
            authorise_acting_on(&app.db, &caller, E::ROUTE.acts_on, &params, &read_ahead).await?;
        let request_id = gateway_request_id(request);
        let ctx = Ctx {
            app,
            caller: &caller,
            application,
            now,
            session_view,
            idempotency: key.as_ref(),
            origin: &origin,
            request_id: &request_id,
            read_ahead,
            acted_on,
        };
        match (endpoint.handle(&ctx, params).await, &key) {
            // A request with the same key did the work first: answer as it did.
            (Err(ApiError::KeyClaimed), Some(key)) => {
                let recorded = app
                    .db
                    .idempotency()
                    .find(&key.key_hash, now)
                    .await?
                    .ok_or_else(|| ApiError::crash("a claimed idempotency key has no record"))?;
                let again = answer_again(endpoint, &repeat, key, recorded, password).await;
                replayed = answered_again(&again);
                again
            }
            (result, _) => result,
        }
    }
    .await;
    Answer {
        result,
        session,
        session_view,
        replayed,
    }
}

/// The answer to a request whose idempotency key has a record: the first request's
/// answer, if this one repeats it.
async fn answer_again<E: Endpoint>(
    endpoint: &E,
    repeat: &Repeat<'_>,
    key: &IdempotencyKey,
    recorded: keys::Recorded,
    password: Option<String>,
) -> Result<Reply, ApiError> {
    idempotency::repeats(
        repeat.app,
        key,
        &recorded,
        password,
        repeat.origin,
        repeat.now,
    )
    .await?;
    endpoint.replay(repeat, key, &recorded.answer).await
}

/// Whether a repeat answered with the first request's answer (a success, or a success
/// with a failure after it, as an email that was not sent).
fn answered_again(answer: &Result<Reply, ApiError>) -> bool {
    matches!(answer, Ok(_) | Err(ApiError::Partial { .. }))
}

/// Where the request came from. A session's caller is the address API Gateway saw. An
/// application's server is that address, which the limits count only as a loose brake on
/// the server as a whole, and its end user is the `client_ip` it passes, if it does. Only
/// an application token may pass one: any other caller could make itself a new end user
/// with every request.
fn origin(request: &Request, token: &str, params: &mut Params) -> Result<Origin, ApiError> {
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.http.source_ip.clone().unwrap_or_default()
        }
        _ => String::new(),
    };
    let client_ip = params.optional::<ClientIp>(CLIENT_IP)?;
    let from_server = TokenKind::of(token) == Some(TokenKind::Application);
    match (client_ip, from_server) {
        (None, false) => Ok(Origin::direct(&source_ip)),
        (None, true) => Ok(Origin::server(&source_ip)),
        (Some(ClientIp(client_ip)), true) => Ok(Origin {
            end_user: Some(client_ip),
            server: Some(source_ip),
        }),
        (Some(_), false) => Err(ApiError::invalid(
            CLIENT_IP,
            "is passed by an application's server, with its application token, only",
        )),
    }
}

/// The parameter an application's server names its end user's address with.
pub const CLIENT_IP: &str = "client_ip";

/// API Gateway's request id; failing that (a direct invocation), Lambda's.
fn gateway_request_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    }
    .unwrap_or_else(|| request_id(request))
}

fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.request_id.clone().unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// An error with every cause behind it, for the log.
fn causes(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
