//! What a function builds once per cold start and every request reuses: the store
//! handle, the clock and the route registry's switches.

use crate::aws::SdkConfig;
use crate::clock::{Clock, SystemClock};
use crate::error::BoxError;
use crate::identify::{SWITCH_CACHE_TTL, SwitchCache};
use crate::store::Db;
use crate::store::tables::Tables;
use std::sync::Arc;

pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    /// The route registry's switches, as last read.
    pub switches: SwitchCache,
}

impl App {
    pub fn new(dynamodb: aws_sdk_dynamodb::Client, tables: Tables, clock: Arc<dyn Clock>) -> App {
        crate::dynamo::observe(crate::metrics::dynamo_event);
        App {
            db: Db::new(dynamodb, tables),
            clock,
            switches: SwitchCache::new(SWITCH_CACHE_TTL),
        }
    }

    /// The production wiring: clients from the Lambda environment, tables from
    /// `template.yaml`'s variables, the system clock.
    pub fn from_env(config: &SdkConfig) -> Result<App, BoxError> {
        Ok(App::new(
            crate::aws::dynamodb_client(config),
            Tables::from_env()?,
            Arc::new(SystemClock),
        ))
    }
}
