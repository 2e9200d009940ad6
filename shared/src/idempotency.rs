//! Idempotent creates. A client whose create timed out cannot tell whether it happened;
//! with an `Idempotency-Key` header on a route that takes one, it can ask again: within
//! 24 hours the same key with the same request answers what the first answered, without
//! the work being done again, and the same key with another request is refused.
//!
//! A key belongs to its caller: it is scoped by the route and the caller's token. The
//! request is recognised by a hash of its parameters, bar the token and the route's
//! secrets (its passwords), which no record holds in any form; the password is proved by
//! checking it against the account the first request used, on that account's sign-in
//! budget, as a sign-in checks it.
//! Only requests that did their work are remembered: one that was refused changed
//! nothing, and its key can be used again. A repeat is answered before authorisation (it
//! only repeats what this caller was told), and before authentication's verdict on a
//! session token, which the first request may have ended.

use crate::attempts::{self, Person};
use crate::domain::{Limits, Origin};
use crate::error::ApiError;
use crate::params::Params;
use crate::routes::Route;
use crate::store::idempotency::{IdempotencyKey, Recorded};
use crate::tokens;
use lambda_http::Request;
use serde_json::Value;

/// The header, as it is documented.
pub const HEADER: &str = "Idempotency-Key";
const MAX_KEY_LENGTH: usize = 255;

/// The idempotency key of a request to `route`, if the route takes one and the request
/// has one. Any other route ignores the header.
pub fn key_of(
    request: &Request,
    route: &Route,
    token: &str,
    params: &Params,
) -> Result<Option<IdempotencyKey>, ApiError> {
    if !route.idempotent {
        return Ok(None);
    }
    let Some(value) = request.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|key| (1..=MAX_KEY_LENGTH).contains(&key.len()))
        .filter(|key| key.bytes().all(|byte| byte.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid(
                HEADER,
                format!("must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, without spaces"),
            )
        })?;
    let mut parameters = params.remaining().clone();
    for secret in route.secret_params {
        parameters.remove(*secret);
    }
    let parameters = Value::Object(parameters);
    Ok(Some(IdempotencyKey {
        key_hash: tokens::hash(&format!("{}\n{}\n{key}", route.path, tokens::hash(token))),
        fingerprint: tokens::hash(&canonical(&parameters)),
    }))
}

/// Whether a request repeats the one `recorded` answered: the same parameters and, when
/// the first carried a password, the same password, checked against that account once an
/// attempt is taken from its sign-in budget (a wrong one counts as a wrong sign-in).
pub async fn repeats(
    app: &crate::App,
    key: &IdempotencyKey,
    recorded: &Recorded,
    password: Option<String>,
    origin: &Origin,
    now: i64,
) -> Result<(), ApiError> {
    let mismatch = || {
        ApiError::invalid(
            HEADER,
            "was used for another request within the last 24 hours: use a new key for a new request",
        )
    };
    if recorded.fingerprint != key.fingerprint {
        return Err(mismatch());
    }
    let (user_id, password) = match (recorded.answer.user_id, password) {
        (None, None) => return Ok(()),
        (Some(user_id), Some(password)) => (user_id, password),
        (None, Some(_)) | (Some(_), None) => return Err(mismatch()),
    };
    let stored = app
        .db
        .users()
        .account(user_id)
        .await?
        .and_then(|account| account.password_hash);
    let throttles =
        attempts::password_throttles(Person::Account(user_id), origin, &Limits::PASSWORDS);
    if attempts::check_password(&app.db, &throttles, now, stored.as_deref(), password).await? {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// JSON with every object's keys in order, so that a request's hash does not depend on
/// how its client ordered them.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let fields: Vec<String> = entries
                .into_iter()
                .map(|(name, value)| format!("{}:{}", Value::from(name.as_str()), canonical(value)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_ignores_key_order() {
        let a = json!({"b": 1, "a": {"y": [1, {"q": 2, "p": 1}], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, {"p": 1, "q": 2}]}, "b": 1});
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(
            canonical(&a),
            r#"{"a":{"x":"s","y":[1,{"p":1,"q":2}]},"b":1}"#
        );
        assert_ne!(canonical(&json!({"a": 1})), canonical(&json!({"a": "1"})));
    }
}
