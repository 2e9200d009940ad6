//! Responding: every response is the one JSON envelope
//! `{"status", "message", "data"?, "session"?}` with the status's HTTP code.

use crate::status::Status;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Map, Value};

pub fn envelope(
    status: Status,
    message: &str,
    data: Option<Value>,
    session: Option<Value>,
) -> Response<Body> {
    let mut body = Map::new();
    body.insert("status".into(), Value::from(status.slug()));
    body.insert("message".into(), Value::from(message));
    if let Some(data) = data {
        body.insert("data".into(), data);
    }
    if let Some(session) = session {
        body.insert("session".into(), session);
    }
    let mut response = Response::new(Body::Text(Value::Object(body).to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status.http_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    protect(headers);
    response
}

/// The headers every answer carries. Answers carry session state and personal data: no
/// cache may keep them, no browser may read them as anything but their declared type,
/// and no page they lead to learns from where.
pub fn protect(headers: &mut header::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}
