//! `POST /api/v1/photographers/create` (sensitive params: the body is base64-encoded JSON,
//! as it carries the initial password): creates a photographer and sends their welcome
//! email through SES (see [`planoauth::use_cases::create_photographer`]).

use planoauth::domain::Email;
use planoauth::mail::Mailer;
use planoauth::params::{Invalid, Param, Params};
use planoauth::routes::{self, Route};
use planoauth::use_cases::{NewPhotographer, create_photographer};
use planoauth::values::{Language, Phone, RecordId, Slug, Text};
use planoauth::view::View;
use planoauth::{ApiError, Ctx, Endpoint, Reply};
use serde_json::Value;

pub struct PhotographersCreate {
    pub mailer: Mailer,
}

impl Endpoint for PhotographersCreate {
    const ROUTE: Route = routes::PHOTOGRAPHERS_CREATE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let new = NewPhotographer {
            email: params.required::<Email>("email")?,
            first_name: params.required::<Text>("first_name")?.0,
            last_name: params.required::<Text>("last_name")?.0,
            password: params.required::<String>("password")?,
            phone: params.required::<Phone>("phone")?.0,
            extension: params.optional::<Extension>("extension")?.map(|e| e.0),
            service_area_id: params
                .optional::<RecordId>("service_area_id")?
                .map(|id| id.0),
            language: params.optional::<Language>("language")?.map(|l| l.0),
            department: params.optional::<Slug>("department")?.map(|d| d.0),
            designation_id: params
                .optional::<RecordId>("designation_id")?
                .map(|id| id.0),
        };
        let view = params.optional::<View>("view")?.unwrap_or_default();
        params.finish()?;
        create_photographer(ctx, &self.mailer, new, view).await
    }
}

/// An internal phone extension: 1 to 8 digits.
struct Extension(i64);

impl Param for Extension {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        match i64::from_value(value)? {
            extension if (1..=99_999_999).contains(&extension) => Ok(Extension(extension)),
            _ => Err(Invalid::new(
                "must be a positive integer of at most 8 digits",
            )),
        }
    }
}
