//! How a record is shown: `view` for the record a route returns, `session_view` for the
//! session object.

use crate::params::{Invalid, Param};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// What any client may see.
    #[default]
    Default,
    /// Adds the fields only PlanoAuth's own applications need.
    InternalApps,
}

impl Param for View {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        match String::from_value(value)?.as_str() {
            "default" => Ok(View::Default),
            "internalapps_view" => Ok(View::InternalApps),
            _ => Err(Invalid::new("must be default or internalapps_view")),
        }
    }
}
