//! Creating a photographer: an employee record marked `photographer`, with a user
//! account holding [`PHOTOGRAPHER_ROLE`] in every application, and a welcome email.
//!
//! The user, the employee record and the email claim are written in one transaction;
//! the password is kept only as an argon2id hash. If SES fails, the photographer stays
//! created: the answer is `email-send-failed` with the record, and a notification is
//! stored for the team.

use super::notices::{RefusedEmail, record_refused_email};
use crate::authorise::holds_every_permission_of;
use crate::domain::{
    Application, AuditAction, DEFAULT_LANGUAGE, Email, Employee, NewEmployee, RecordKind,
};
use crate::error::ApiError;
use crate::mail::{Mailer, Onboarding};
use crate::metrics::{self, Metric};
use crate::passwords;
use crate::pipeline::{Ctx, Reply};
use crate::status::Status;
use crate::store::notifications::FailedEmail;
use crate::use_cases::{create_employee, retry_delay};
use crate::view::{Show, View};

/// The role a new photographer holds in every application: no permissions of its own.
pub const PHOTOGRAPHER_ROLE: &str = "staff";

/// A photographer as the request describes them.
pub struct NewPhotographer {
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    /// The initial password, in the clear only until it is hashed.
    pub password: String,
    pub phone: String,
    pub extension: Option<i64>,
    pub service_area_id: Option<i64>,
    pub language: Option<String>,
    pub department: Option<String>,
    pub designation_id: Option<i64>,
}

pub async fn create_photographer(
    ctx: &Ctx<'_>,
    mailer: &Mailer,
    new: NewPhotographer,
    view: View,
) -> Result<Reply, ApiError> {
    let NewPhotographer {
        email, password, ..
    } = &new;
    let roles = Application::everywhere(PHOTOGRAPHER_ROLE);
    // Whoever an operator makes the role hold, no caller creates someone above them.
    let granted = roles
        .map(|(application, role)| (application, role.to_owned()))
        .into();
    holds_every_permission_of(
        &ctx.app.db,
        ctx.caller,
        &granted,
        "The new photographer's role",
    )
    .await?;
    let password_hash = passwords::accept_new("password", password.clone(), email.as_str()).await?;
    let id = ctx.app.db.counters().next("users").await?;
    let record = NewEmployee {
        email,
        first_name: Some(&new.first_name),
        last_name: Some(&new.last_name),
        phone: Some(&new.phone),
        service_area_id: new.service_area_id,
        extension: new.extension,
        department: new.department.as_deref(),
        designation_id: new.designation_id,
        language: Some(new.language.as_deref().unwrap_or(DEFAULT_LANGUAGE)),
        photographer: true,
        roles: &roles,
        password_hash: Some(&password_hash),
        // The admin chose it: the photographer replaces it before anything else.
        password_change_required: true,
    };
    let photographer = Employee::new(id, &record, ctx.now);
    let data = photographer.show(view);
    let claim = super::claim_step(ctx, Some(&data), Some(id), None)?;
    let audit = ctx.audit(AuditAction::EmployeeCreated, id, RecordKind::Employee);
    create_employee(ctx.app, &photographer, &record, claim, &audit).await?;

    let welcome = Onboarding {
        to: email.as_str(),
        first_name: &new.first_name,
        last_name: &new.last_name,
    };
    if let Err(error) = mailer.send_onboarding(&welcome).await {
        tracing::error!(employee_id = id, cause = %error, "welcome email not sent");
        record_failed_email(ctx, id, email, &error.to_string()).await;
        return Err(ApiError::Partial {
            status: Status::EmailSendFailed,
            data,
        });
    }
    metrics::count(Metric::EmailsSent);
    Ok(Reply::data(data))
}

/// Tells the team (a notification) and a repeat of the request (its idempotency record)
/// that the welcome email was not sent. Failing to, it logs: the answer stands.
async fn record_failed_email(ctx: &Ctx<'_>, id: i64, email: &Email, detail: &str) {
    let refused = RefusedEmail {
        subject: &format!("employee:{id}"),
        to: email.as_str(),
        email: FailedEmail::Welcome,
        error: detail,
    };
    record_refused_email(ctx.app, &refused, ctx.now, Some(ctx.now + retry_delay(0))).await;
    if let Some(key) = ctx.idempotency {
        let status = Status::EmailSendFailed.slug();
        if let Err(error) = ctx
            .app
            .db
            .idempotency()
            .set_status(&key.key_hash, status)
            .await
        {
            tracing::error!(employee_id = id, cause = %error, "idempotency record not updated");
        }
    }
}
