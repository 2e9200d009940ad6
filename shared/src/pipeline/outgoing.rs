//! The last stage: the answer as the one envelope (with the session the caller used,
//! shown as it asked), the metrics record and the log line, which never holds the body.

use super::Answer;
use crate::error::ApiError;
use crate::metrics::{self, RequestRecord, RequestTimer};
use crate::respond::envelope;
use crate::status::Status;
use crate::view::Show;
use lambda_http::http::HeaderValue;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::error::Error;

pub(super) fn respond(
    route: &'static str,
    request: &Request,
    answer: Answer,
    timer: &RequestTimer,
) -> Response<Body> {
    let request_id = request_id(request);
    let session = answer.session.as_ref().map(|s| s.show(answer.session_view));
    let (status, mut response) = match answer.result {
        Ok(reply) => {
            let status = Status::ActionSuccessful;
            let session = reply.session.or(session);
            let response = envelope(status, status.message(), reply.data, session);
            (status, response)
        }
        Err(error) => {
            if let ApiError::Crash(cause) = &error {
                tracing::error!(route, request_id, cause = %causes(cause.as_ref()), "request failed");
            }
            let (status, message) = (error.status(), error.message());
            let data = match error {
                ApiError::Partial { data, .. } => Some(data),
                _ => None,
            };
            (status, envelope(status, &message, data, session))
        }
    };
    if answer.replayed {
        // As the idempotency drafts name it: the answer is a replay of an earlier one.
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    metrics::emit(Some(RequestRecord {
        route,
        status: status.slug(),
        timer,
    }));
    tracing::info!(
        route,
        request_id,
        status = status.slug(),
        replayed = answer.replayed,
        duration_ms = timer.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Lambda's id of the invocation; failing that (the local API), API Gateway's.
pub(super) fn request_id(request: &Request) -> String {
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
