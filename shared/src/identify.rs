//! Identifying: whether the route, and the service it belongs to, are switched on in the
//! route registry. The switches are cached per function for a short time
//! ([`crate::app::SWITCH_CACHE_TTL`]), so this costs a DynamoDB call only now and then.

use crate::app::App;
use crate::error::ApiError;
use crate::routes::Route;
use crate::status::Status;

pub async fn identify(app: &App, route: &Route) -> Result<(), ApiError> {
    let switches = match app.switches.get(route.path) {
        Some(switches) => switches,
        None => {
            let read = app.registry().switches(route.path, route.service()).await;
            let switches = read.map_err(|error| {
                tracing::error!(route = route.path, cause = %error, "route registry unreadable");
                ApiError::reject(Status::IdentifyRequestError)
            })?;
            app.switches.put(route.path, switches);
            switches
        }
    };
    if !switches.service_on {
        return Err(ApiError::reject(Status::ServiceNotFound));
    }
    if !switches.route_on {
        return Err(ApiError::reject(Status::RouteNotFound));
    }
    Ok(())
}
