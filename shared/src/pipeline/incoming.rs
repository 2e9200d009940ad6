//! The first stage: whether the route is switched on, and what the request says, decoded
//! once for every stage after it: its parameters, its token, where it comes from, its
//! idempotency key (and what a repeat must prove), the application it acts in, how it
//! wants sessions shown, and the items to read along with its token.

use super::{Answer, Endpoint, Reply};
use crate::app::App;
use crate::authenticate::take_token;
use crate::authorise::acted_on_key;
use crate::decode::decode;
use crate::domain::{Application, Origin, Session};
use crate::error::ApiError;
use crate::idempotency;
use crate::identify::identify;
use crate::params::Params;
use crate::store::ItemKey;
use crate::store::idempotency::IdempotencyKey;
use crate::tokens::TokenKind;
use crate::values::ClientIp;
use crate::view::View;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

/// The parameter an application's server names its end user's address with.
pub const CLIENT_IP: &str = "client_ip";

/// A request as the stages after decoding know it.
pub(super) struct Incoming {
    pub token: String,
    pub origin: Origin,
    pub key: Option<IdempotencyKey>,
    /// With a key, the secret a repeat must carry again (the route's `repeat_proven_by`).
    pub proof: Option<String>,
    pub requested: Option<Application>,
    pub session_view: View,
    pub now: i64,
    /// What to read along with the token: the item the endpoint names and the account of
    /// the person the route acts on.
    pub also: Vec<ItemKey>,
    /// API Gateway's id of the request, which its audit records carry.
    pub request_id: String,
}

impl Incoming {
    /// Identifies and decodes a request: the request as the stages know it, and the
    /// parameters left for the endpoint.
    pub async fn read<E: Endpoint>(
        app: &App,
        endpoint: &E,
        request: &Request,
    ) -> Result<(Incoming, Params), ApiError> {
        identify(&app.db, &app.switches, &E::ROUTE).await?;
        let mut params = decode(request, E::ROUTE.sensitive_params)?;
        let token = take_token(&mut params, request)?;
        let origin = origin(request, &token, &mut params)?;
        let key = idempotency::key_of(request, &E::ROUTE, &token, &params)?;
        let proof = key
            .as_ref()
            .and(E::ROUTE.repeat_proven_by)
            .and_then(|name| params.remaining().get(name))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let requested = params.optional::<Application>("application")?;
        let session_view = params.optional::<View>("session_view")?.unwrap_or_default();
        let also = endpoint
            .read_ahead(&app.db, &params)
            .into_iter()
            .chain(acted_on_key(&app.db, E::ROUTE.acts_on, &params))
            .collect();
        let incoming = Incoming {
            token,
            origin,
            key,
            proof,
            requested,
            session_view,
            now: app.clock.now(),
            also,
            request_id: gateway_request_id(request),
        };
        Ok((incoming, params))
    }

    /// The answer of the request, showing `session` as it asked.
    pub(super) fn answer(
        &self,
        result: Result<Reply, ApiError>,
        session: Option<Session>,
        replayed: bool,
    ) -> Answer {
        Answer {
            result,
            session,
            session_view: self.session_view,
            replayed,
        }
    }
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

/// API Gateway's request id; failing that (a direct invocation), Lambda's.
fn gateway_request_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    }
    .unwrap_or_else(|| super::outgoing::request_id(request))
}
