//! Repeats: a request whose idempotency key has a record is answered as the key's first
//! request was, once it is shown to repeat that request (its parameters, and the secret
//! its route says a repeat must carry again). Asked before authorisation (it only repeats
//! what this caller was told), and again when a handler finds its key claimed by a
//! request that did the work first.

use super::incoming::Incoming;
use super::{Endpoint, Repeat, Reply};
use crate::app::App;
use crate::authenticate::Caller;
use crate::domain::Session;
use crate::error::ApiError;
use crate::idempotency;
use crate::store::idempotency::{IdempotencyKey, Recorded};
use crate::tokens::TokenKind;

/// A result, and whether it is a replay.
type Replayed = (Result<Reply, ApiError>, bool);

/// The answer of a request whose key has a record already. `None` (the request goes on
/// to its handler) when it has no key, when its key has no record, or when its token is
/// no good and not a session token (which may repeat the request that ended it).
pub(super) async fn recorded<E: Endpoint>(
    app: &App,
    endpoint: &E,
    incoming: &Incoming,
    caller: &Result<Caller, (ApiError, Option<Session>)>,
) -> Option<Replayed> {
    let key = incoming.key.as_ref()?;
    // A key's record belongs to the token that made its first request, so a repeat is
    // answered even when that request ended the session token it came with (as a
    // registration does). An application token must still be good.
    let session_token = TokenKind::of(&incoming.token) == Some(TokenKind::Session);
    if caller.is_err() && !session_token {
        return None;
    }
    match app.db.idempotency().find(&key.key_hash, incoming.now).await {
        Ok(Some(recorded)) => Some(again(app, endpoint, incoming, key, recorded).await),
        Ok(None) => None,
        Err(error) => Some((Err(error.into()), false)),
    }
}

/// The answer of a request whose handler found its key claimed by another request with
/// the same key, which did the work first.
pub(super) async fn claimed<E: Endpoint>(app: &App, endpoint: &E, incoming: &Incoming) -> Replayed {
    let Some(key) = &incoming.key else {
        return (Err(ApiError::crash("a key was claimed without one")), false);
    };
    match app.db.idempotency().find(&key.key_hash, incoming.now).await {
        Ok(Some(recorded)) => again(app, endpoint, incoming, key, recorded).await,
        Ok(None) => (
            Err(ApiError::crash("a claimed idempotency key has no record")),
            false,
        ),
        Err(error) => (Err(error.into()), false),
    }
}

/// The first request's answer, if this one repeats it: a success, or a success with a
/// failure after it (an email that was not sent), is a replay.
async fn again<E: Endpoint>(
    app: &App,
    endpoint: &E,
    incoming: &Incoming,
    key: &IdempotencyKey,
    recorded: Recorded,
) -> Replayed {
    let (origin, now) = (&incoming.origin, incoming.now);
    let proof = incoming.proof.clone();
    let result = match idempotency::repeats(app, key, &recorded, proof, origin, now).await {
        Ok(()) => {
            let repeat = Repeat {
                app,
                now,
                session_view: incoming.session_view,
                origin,
            };
            endpoint.replay(&repeat, key, &recorded.answer).await
        }
        Err(error) => Err(error),
    };
    let replayed = matches!(result, Ok(_) | Err(ApiError::Partial { .. }));
    (result, replayed)
}
