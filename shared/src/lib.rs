//! PlanoAuth's shared library: what every endpoint of the API shares.
//!
//! Its layers, from the bottom: [`domain`] (the records and the rules that need no I/O)
//! beside [`dynamo`] (a DynamoDB toolkit that knows nothing of PlanoAuth), [`store`] (the
//! per-table stores, on one handle), then [`use_cases`] (what each route
//! does) beside the request pipeline. A request's journey, in the order the modules run
//! it: [`identify`] → [`decode`] → [`authenticate`] → [`idempotency`] → [`authorise`] →
//! the endpoint's handler → [`respond`], strung together by [`pipeline`] and started by
//! [`runtime`]. Statuses come from [`status`], parameters are read with [`params`] and
//! [`values`], records are shown by [`view`]. Limits on attempts (wrong passwords, reset
//! requests, registrations) are taken before the work they limit, in [`attempts`].

pub mod app;
pub mod attempts;
pub mod authenticate;
pub mod authorise;
pub mod aws;
pub mod clock;
pub mod decode;
pub mod domain;
pub mod dynamo;
pub mod error;
pub mod idempotency;
pub mod identify;
pub mod mail;
pub mod metrics;
pub mod params;
pub mod passkeys;
pub mod passwords;
pub mod pipeline;
pub mod respond;
pub mod routes;
pub mod runtime;
pub mod secrets;
pub mod status;
pub mod store;
pub mod tokens;
pub mod use_cases;
pub mod values;
pub mod view;

pub use app::App;
pub use error::ApiError;
pub use pipeline::{Ctx, Endpoint, Reply};
pub use status::Status;
