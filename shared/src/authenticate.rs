//! Authentication: who is calling. A token is an application's or a session's; its
//! prefix says which, so checking it costs one DynamoDB read either way (and, for a
//! session, a write of its use once every few minutes).

use crate::domain::{ApplicationToken, Session};
use crate::error::ApiError;
use crate::params::Params;
use crate::status::Status;
use crate::store::application_tokens::ApplicationTokens;
use crate::store::sessions::Check;
use crate::store::{Db, Item, ItemKey, ReadAhead, get_with};
use crate::tokens::TokenKind;
use lambda_http::Request;
use lambda_http::http::header;

#[derive(Debug, Clone)]
pub enum Caller {
    /// A trusted server calling as one of the applications.
    Application(ApplicationToken),
    /// A user (or a guest) through their session; the session as this request left it.
    Session(Session),
}

impl Caller {
    pub fn session(&self) -> Option<&Session> {
        match self {
            Caller::Session(session) => Some(session),
            Caller::Application(_) => None,
        }
    }
}

/// The token from the `token` parameter or the `Authorization: Bearer` header. A request
/// that carries two different tokens is refused rather than decided for either: which
/// one a client meant is not ours to guess.
pub fn take_token(params: &mut Params, request: &Request) -> Result<String, ApiError> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
        .filter(|token| !token.is_empty());
    let Some(token) = params.optional::<String>("token")? else {
        return bearer.ok_or_else(|| ApiError::missing("token"));
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::missing("token"));
    }
    if bearer.is_some_and(|bearer| bearer != token) {
        return Err(ApiError::invalid(
            "token",
            "differs from the token in the Authorization header: send one token",
        ));
    }
    Ok(token.to_owned())
}

/// Who the token belongs to. An expired session is refused with `session-expired` but
/// still handed back, as the response carries it. The items at `also` are read in the
/// same round trip (one BatchGetItem) for the pipeline and the endpoint, which get them
/// back unless the token is of no kind there is.
pub async fn authenticate(
    db: &Db,
    token: &str,
    now: i64,
    also: &[ItemKey],
) -> (Result<Caller, (ApiError, Option<Session>)>, ReadAhead) {
    let token_key = match TokenKind::of(token) {
        Some(TokenKind::Application) => Some(db.application_tokens().key_of(token)),
        Some(TokenKind::Session) => Some(db.sessions().key_of(token)),
        _ => None,
    };
    let Some(token_key) = token_key.filter(|_| !also.is_empty()) else {
        return (check(db, token, now, None).await, ReadAhead::default());
    };
    match get_with(&db.client, &token_key, also).await {
        Ok((token_item, read_ahead)) => {
            let caller = check(db, token, now, Some(token_item)).await;
            (caller, read_ahead)
        }
        Err(error) => (Err((error.into(), None)), ReadAhead::default()),
    }
}

/// Checks a token against its item, read here unless `read` holds it.
async fn check(
    db: &Db,
    token: &str,
    now: i64,
    read: Option<Option<Item>>,
) -> Result<Caller, (ApiError, Option<Session>)> {
    let invalid = || (ApiError::reject(Status::InvalidToken), None);
    match TokenKind::of(token) {
        Some(TokenKind::Application) => {
            let found = match read {
                Some(item) => ApplicationTokens::from_read(item.as_ref()),
                None => db.application_tokens().find(token).await,
            };
            match found {
                Ok(Some(record)) => Ok(Caller::Application(record)),
                Ok(None) => Err(invalid()),
                Err(error) => Err((error.into(), None)),
            }
        }
        Some(TokenKind::Session) => {
            let checked = match read {
                Some(item) => db.sessions().check_read(token, item.as_ref(), now).await,
                None => db.sessions().check_and_touch(token, now).await,
            };
            match checked {
                Ok(Check::Valid(session)) => Ok(Caller::Session(session)),
                Ok(Check::Expired(session)) => {
                    Err((ApiError::reject(Status::SessionExpired), Some(session)))
                }
                Ok(Check::Unknown) => Err(invalid()),
                Err(error) => Err((error.into(), None)),
            }
        }
        // A reset token and a ceremony's id are parameters, never a caller.
        Some(TokenKind::PasswordReset | TokenKind::Ceremony | TokenKind::Challenge) | None => {
            Err(invalid())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::{Body, http};
    use serde_json::{Value, json};

    fn request(authorization: Option<&str>) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/api/v1/x");
        if let Some(value) = authorization {
            builder = builder.header("authorization", value);
        }
        builder.body(Body::Empty).unwrap_or_default()
    }

    fn params(value: Value) -> Params {
        match value {
            Value::Object(map) => Params::new(map),
            _ => Params::default(),
        }
    }

    fn taken(body: Value, authorization: Option<&str>) -> Result<String, Status> {
        take_token(&mut params(body), &request(authorization)).map_err(|e| e.status())
    }

    #[test]
    fn the_token_comes_from_the_body_or_a_bearer_header() {
        assert_eq!(taken(json!({"token": " pa_x "}), None), Ok("pa_x".into()));
        assert_eq!(taken(json!({}), Some("Bearer pa_y")), Ok("pa_y".into()));
        assert_eq!(taken(json!({}), Some("bearer   pa_y ")), Ok("pa_y".into()));
        assert_eq!(
            taken(json!({"token": "pa_x"}), Some("Bearer pa_x")),
            Ok("pa_x".into()),
            "the same token both ways"
        );
    }

    #[test]
    fn two_different_tokens_are_refused_rather_than_one_chosen() {
        assert_eq!(
            taken(json!({"token": "pa_x"}), Some("Bearer pa_y")),
            Err(Status::InvalidParam)
        );
        assert_eq!(
            taken(json!({"token": "pa_x"}), Some("Basic dXNlcjpwYXNz")),
            Ok("pa_x".into()),
            "a header of another scheme carries no token"
        );
    }

    #[test]
    fn a_missing_or_blank_token_is_missing_param() {
        for (body, header) in [
            (json!({}), None),
            (json!({"token": "  "}), None),
            (json!({"token": null}), None),
            (json!({}), Some("Basic dXNlcjpwYXNz")),
            (json!({}), Some("Bearer ")),
        ] {
            assert_eq!(taken(body, header), Err(Status::MissingParam));
        }
        assert_eq!(taken(json!({"token": 5}), None), Err(Status::InvalidParam));
    }

    #[test]
    fn the_token_parameter_is_taken_out_of_the_parameters() {
        let mut p = params(json!({"token": "pa_x", "id": 1}));
        assert!(take_token(&mut p, &request(None)).is_ok());
        assert!(!p.remaining().contains_key("token"));
    }
}
