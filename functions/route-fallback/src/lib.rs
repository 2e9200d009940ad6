//! The function behind API Gateway's `$default` route: any method and path that no
//! route declares gets `route-non-existent` in the usual envelope, rather than API
//! Gateway's own `{"message":"Not Found"}`.

use lambda_http::{Body, Request, Response};
use planoauth::Status;
use planoauth::metrics::{self, RequestRecord, RequestTimer};
use planoauth::respond::envelope;

pub fn answer(request: &Request) -> Response<Body> {
    let timer = RequestTimer::start();
    let status = Status::RouteNonExistent;
    metrics::emit(Some(RequestRecord {
        route: "$default",
        status: status.slug(),
        timer: &timer,
    }));
    tracing::info!(method = %request.method(), path = request.uri().path(), status = status.slug(), "request");
    envelope(status, status.message(), None, None)
}
