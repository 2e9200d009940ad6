//! Around every stage: a handler's panic becomes `application-crash`, an answer like any
//! other (the panic hook has logged its message and location).

use super::Answer;
use crate::error::ApiError;
use futures_util::FutureExt;
use lambda_http::Request;
use std::future::Future;
use std::panic::AssertUnwindSafe;

pub(super) async fn caught(
    route: &'static str,
    request: &Request,
    stages: impl Future<Output = Answer>,
) -> Answer {
    AssertUnwindSafe(stages)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            let request_id = super::outgoing::request_id(request);
            tracing::error!(route, request_id, "handler panicked");
            Answer::failed(ApiError::crash("handler panicked"))
        })
}
