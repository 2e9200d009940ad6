//! `POST /api/v1/photographers/create` (sensitive params: the body is base64-encoded JSON,
//! as it carries the initial password): creates a photographer and sends their welcome
//! email through SES.
//!
//! The user, the employee record and the email claim are written in one transaction; the
//! password is kept only as an argon2id hash. If SES fails, the photographer stays
//! created: the answer is `email-send-failed` with the record, and a notification is
//! stored for the team.

use planoauth::authorise::Application;
use planoauth::mail::{Mailer, Onboarding};
use planoauth::params::{Invalid, Param, Params};
use planoauth::passwords;
use planoauth::routes::{self, Route};
use planoauth::store::employees::{Employee, NewEmployee};
use planoauth::store::notifications::Notification;
use planoauth::values::{DEFAULT_LANGUAGE, Email, Language, Phone, RecordId, Slug, Text};
use planoauth::view::View;
use planoauth::{ApiError, Ctx, Endpoint, Reply, Status};
use serde_json::Value;

/// The role a new photographer holds in every application: no permissions of its own.
pub const PHOTOGRAPHER_ROLE: &str = "staff";

pub struct PhotographersCreate {
    pub mailer: Mailer,
}

impl Endpoint for PhotographersCreate {
    const ROUTE: Route = routes::PHOTOGRAPHERS_CREATE;

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let email = params.required::<Email>("email")?;
        let first_name = params.required::<Text>("first_name")?.0;
        let last_name = params.required::<Text>("last_name")?.0;
        let password = params.required::<String>("password")?;
        let phone = params.required::<Phone>("phone")?.0;
        let extension = params.optional::<Extension>("extension")?.map(|e| e.0);
        let service_area_id = params
            .optional::<RecordId>("service_area_id")?
            .map(|id| id.0);
        let language = params.optional::<Language>("language")?.map(|l| l.0);
        let department = params.optional::<Slug>("department")?.map(|d| d.0);
        let designation_id = params
            .optional::<RecordId>("designation_id")?
            .map(|id| id.0);
        let view = params.optional::<View>("view")?.unwrap_or_default();
        params.finish()?;
        let password_hash = passwords::accept_new("password", password, email.as_str()).await?;
        let roles: Vec<(Application, &str)> = Application::ALL
            .iter()
            .map(|app| (*app, PHOTOGRAPHER_ROLE))
            .collect();
        let id = ctx.app.counters().next("users").await?;
        let new = NewEmployee {
            email: &email,
            first_name: Some(&first_name),
            last_name: Some(&last_name),
            phone: Some(&phone),
            service_area_id,
            extension,
            department: department.as_deref(),
            designation_id,
            language: Some(language.as_deref().unwrap_or(DEFAULT_LANGUAGE)),
            photographer: true,
            roles: &roles,
            password_hash: Some(&password_hash),
        };
        let photographer = Employee::new(id, &new, ctx.now);
        let data = photographer.view(view);
        let claim = ctx.claim(Some(&data), Some(id), None)?;
        ctx.app
            .employees()
            .create(&photographer, &new, claim)
            .await?;

        let welcome = Onboarding {
            to: email.as_str(),
            first_name: &first_name,
            last_name: &last_name,
        };
        if let Err(error) = self.mailer.send_onboarding(&welcome).await {
            tracing::error!(employee_id = id, cause = %error, "welcome email not sent");
            let subject = format!("employee:{id}");
            let notification = Notification {
                kind: Status::EmailSendFailed.slug(),
                subject: &subject,
                recipient: Some(email.as_str()),
                detail: &error.to_string(),
            };
            if let Err(store_error) = ctx.app.notifications().record(&notification, ctx.now).await {
                tracing::error!(employee_id = id, cause = %store_error, "notification not stored");
            }
            if let Some(key) = ctx.idempotency {
                // A repeat of this request must hear the same answer.
                let status = Status::EmailSendFailed.slug();
                if let Err(store_error) = ctx
                    .app
                    .idempotency()
                    .set_status(&key.key_hash, status)
                    .await
                {
                    tracing::error!(employee_id = id, cause = %store_error, "idempotency record not updated");
                }
            }
            return Err(ApiError::Partial {
                status: Status::EmailSendFailed,
                data,
            });
        }
        Ok(Reply::data(data))
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
