//! The function behind API Gateway's `$default` route: any method and path that no
//! route declares gets `route-non-existent` in the usual envelope, rather than API
//! Gateway's own `{"message":"Not Found"}`.

use lambda_http::{Body, Request, Response};
use planoauth::Status;
use planoauth::respond::envelope;

pub fn answer(request: &Request) -> Response<Body> {
    let status = Status::RouteNonExistent;
    planoauth::metrics::emit(Some(("$default", status.slug())));
    tracing::info!(method = %request.method(), path = request.uri().path(), status = status.slug(), "request");
    envelope(status, status.message(), None, None)
}
