//! The API Gateway of the local stack. A request becomes the HTTP API (payload 2.0) event
//! API Gateway would send, is decoded by `lambda_http` exactly as in Lambda, and is
//! answered by the function the route registry names, through its own `serve` entry.

pub mod page;
pub mod schedules;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use employees_update::EmployeesUpdate;
use lambda_http::{Body, Request, Response};
use passkeys_delete::PasskeysDelete;
use passkeys_list::PasskeysList;
use passkeys_register_finish::PasskeysRegisterFinish;
use passkeys_register_start::PasskeysRegisterStart;
use photographers_create::PhotographersCreate;
use planoauth::aws::SdkConfig;
use planoauth::domain::Limits;
use planoauth::error::BoxError;
use planoauth::mail::Mailer;
use planoauth::passkeys::RelyingParty;
use planoauth::pipeline::{Endpoint, serve};
use planoauth::respond::envelope;
use planoauth::routes::{self, Route};
use planoauth::secrets::SecretBox;
use planoauth::{App, Status};
use serde_json::{Value, json};
use sessions_create::SessionsCreate;
use sessions_delete::SessionsDelete;
use sessions_passkey_finish::SessionsPasskeyFinish;
use sessions_passkey_start::SessionsPasskeyStart;
use sessions_second_factor::SessionsSecondFactor;
use sessions_show::SessionsShow;
use std::future::Future;
use std::pin::Pin;
use users_client_register::UsersClientRegister;
use users_password_forgot::UsersPasswordForgot;
use users_password_reset::UsersPasswordReset;
use users_password_update::UsersPasswordUpdate;
use users_recovery_codes_regenerate::UsersRecoveryCodesRegenerate;
use users_totp_confirm::UsersTotpConfirm;
use users_totp_disable::UsersTotpDisable;
use users_totp_enroll::UsersTotpEnroll;

/// The HTTP API event for a request, as API Gateway builds it: headers lower-cased and
/// joined, a body that is not UTF-8 base64-encoded.
pub fn http_api_event(
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Value {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut header_map = serde_json::Map::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let joined = match header_map.get(&name).and_then(Value::as_str) {
            Some(previous) => format!("{previous},{value}"),
            None => value.clone(),
        };
        header_map.insert(name, Value::from(joined));
    }
    let route_key = routes::by_path(path)
        .filter(|_| method.eq_ignore_ascii_case("POST"))
        .map_or_else(|| "$default".to_owned(), Route::key);
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (STANDARD.encode(body), true),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method.to_ascii_uppercase(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": header_map.get("user-agent").and_then(Value::as_str).unwrap_or(""),
            },
            "requestId": format!("local-{now}-{}", planoauth::tokens::random_id()),
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": now,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// A function's endpoint, whatever its type: what the local API dispatches a request to.
pub trait Function: Send + Sync {
    /// The route the endpoint serves.
    fn route(&self) -> Route;

    /// Answers a request, through the endpoint's `serve` entry as in Lambda.
    fn serve<'a>(
        &'a self,
        app: &'a App,
        request: Request,
    ) -> Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;
}

impl<E: Endpoint> Function for E {
    fn route(&self) -> Route {
        E::ROUTE
    }

    fn serve<'a>(
        &'a self,
        app: &'a App,
        request: Request,
    ) -> Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>> {
        Box::pin(serve(app, self, request))
    }
}

/// Every function, built once as its `main` builds it in Lambda: the one list of them.
pub struct Functions(Vec<Box<dyn Function>>);

impl Functions {
    /// The functions, sending email with `mailer`, the passkey ones for `party`, the
    /// TOTP ones sealing secrets with `secrets`.
    pub fn new(mailer: Mailer, party: RelyingParty, secrets: SecretBox) -> Functions {
        Functions(vec![
            Box::new(EmployeesUpdate {
                mailer: mailer.clone(),
            }),
            Box::new(PhotographersCreate {
                mailer: mailer.clone(),
            }),
            Box::new(SessionsCreate::default()),
            Box::new(SessionsShow),
            Box::new(SessionsDelete),
            Box::new(UsersClientRegister::default()),
            Box::new(UsersPasswordUpdate {
                mailer: mailer.clone(),
                limits: Limits::PASSWORDS,
            }),
            Box::new(UsersPasswordForgot {
                mailer: mailer.clone(),
                pacing: Default::default(),
            }),
            Box::new(UsersPasswordReset {
                mailer: mailer.clone(),
            }),
            Box::new(PasskeysRegisterStart {
                party: party.clone(),
            }),
            Box::new(PasskeysRegisterFinish {
                party: party.clone(),
                mailer: mailer.clone(),
            }),
            Box::new(PasskeysList),
            Box::new(PasskeysDelete {
                mailer: mailer.clone(),
            }),
            Box::new(SessionsPasskeyStart {
                party: party.clone(),
            }),
            Box::new(SessionsPasskeyFinish {
                party,
                mailer: mailer.clone(),
                limits: Limits::PASSWORDS,
            }),
            Box::new(UsersTotpEnroll {
                secrets: secrets.clone(),
            }),
            Box::new(UsersTotpConfirm {
                secrets: secrets.clone(),
                mailer: mailer.clone(),
            }),
            Box::new(UsersTotpDisable {
                secrets: secrets.clone(),
                mailer: mailer.clone(),
                limits: Limits::PASSWORDS,
            }),
            Box::new(UsersRecoveryCodesRegenerate {
                secrets: secrets.clone(),
                mailer: mailer.clone(),
                limits: Limits::PASSWORDS,
            }),
            Box::new(SessionsSecondFactor {
                secrets,
                mailer,
                limits: Limits::PASSWORDS,
            }),
        ])
    }

    pub fn from_env(config: &SdkConfig) -> Result<Functions, BoxError> {
        Ok(Functions::new(
            Mailer::from_env(config)?,
            RelyingParty::from_env()?,
            SecretBox::from_env(config)?,
        ))
    }

    /// The function that serves `route`, if this server has it.
    pub fn get(&self, route: &Route) -> Option<&dyn Function> {
        self.0
            .iter()
            .map(|function| function.as_ref())
            .find(|function| function.route() == *route)
    }
}

/// Answers a request decoded from an event, as the function owning its route would.
pub async fn dispatch(app: &App, functions: &Functions, request: Request) -> Response<Body> {
    let route = routes::by_path(request.uri().path()).filter(|_| request.method() == "POST");
    match route.map(|route| (route, functions.get(route))) {
        Some((_, Some(function))) => function.serve(app, request).await,
        Some((route, None)) => {
            tracing::error!(
                function = route.function,
                "route has no function wired into the local API"
            );
            envelope(
                Status::RouteNonExistent,
                Status::RouteNonExistent.message(),
                None,
                None,
            )
        }
        None => route_fallback::answer(&request),
    }
}
