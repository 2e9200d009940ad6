//! Identifying: whether the route, and the service it belongs to, are switched on in the
//! route registry. The switches are cached per function for a short time
//! ([`SWITCH_CACHE_TTL`]), so this costs a DynamoDB call only now and then.

use crate::error::ApiError;
use crate::routes::Route;
use crate::status::Status;
use crate::store::Db;
use crate::store::registry::Switches;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a function trusts the route registry's switches before reading them again:
/// an operator's switch takes effect within this time, without a redeploy.
pub const SWITCH_CACHE_TTL: Duration = Duration::from_secs(30);

pub async fn identify(db: &Db, cache: &SwitchCache, route: &Route) -> Result<(), ApiError> {
    let switches = match cache.get(route.path) {
        Some(switches) => switches,
        None => {
            let read = db.registry().switches(route.path, route.service()).await;
            let switches = read.map_err(|error| {
                tracing::error!(route = route.path, cause = %error, "route registry unreadable");
                ApiError::reject(Status::IdentifyRequestError)
            })?;
            cache.put(route.path, switches);
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

/// The switches of each route this function serves, each kept for a time.
pub struct SwitchCache {
    ttl: Duration,
    entries: Mutex<HashMap<&'static str, (Instant, Switches)>>,
}

impl SwitchCache {
    pub fn new(ttl: Duration) -> SwitchCache {
        SwitchCache {
            ttl,
            entries: Mutex::default(),
        }
    }

    pub fn get(&self, path: &'static str) -> Option<Switches> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(path)
            .filter(|(read_at, _)| read_at.elapsed() < self.ttl)
            .map(|(_, switches)| *switches)
    }

    pub fn put(&self, path: &'static str, switches: Switches) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(path, (Instant::now(), switches));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_kept_for_the_cache_time_only() {
        let on = Switches {
            route_on: true,
            service_on: true,
        };
        let kept = SwitchCache::new(Duration::from_secs(60));
        assert_eq!(kept.get("/a"), None);
        kept.put("/a", on);
        assert_eq!(kept.get("/a"), Some(on));
        assert_eq!(kept.get("/b"), None);
        let expired = SwitchCache::new(Duration::ZERO);
        expired.put("/a", on);
        assert_eq!(expired.get("/a"), None);
    }
}
