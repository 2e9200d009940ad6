//! Telling an account's owner of a change to how it signs in: a security notice by email
//! after a password change, a password reset and an address change (to the old address
//! and the new one). The change stands whatever SES does: a notice SES refuses leaves an
//! open notification, which the retry schedule sends again as it does welcome emails.

use super::retry_emails::retry_delay;
use crate::app::App;
use crate::domain::SecurityNotice;
use crate::mail::Mailer;
use crate::metrics::{self, Metric};
use crate::status::Status;
use crate::store::notifications::{FailedEmail, Notification};

/// One notice to send: of what, to whom, about which account.
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    pub user_id: i64,
    pub to: &'a str,
    pub notice: SecurityNotice,
}

/// Sends each notice, concurrently, of a change made at `now`. A failure is the team's to
/// know and the retry schedule's to mend, never the caller's: the change was made.
pub async fn send_notices(app: &App, mailer: &Mailer, notices: &[Notice<'_>], now: i64) {
    futures_util::future::join_all(notices.iter().map(|notice| send(app, mailer, notice, now)))
        .await;
}

async fn send(app: &App, mailer: &Mailer, notice: &Notice<'_>, now: i64) {
    let Notice {
        user_id,
        to,
        notice,
    } = *notice;
    let Err(error) = mailer.send_security_notice(to, notice, now).await else {
        metrics::count(Metric::EmailsSent);
        return;
    };
    let kind = notice.slug();
    tracing::error!(user_id, notice = kind, cause = %error, "security notice not sent");
    let failed = RefusedEmail {
        subject: &format!("user:{user_id}"),
        to,
        email: FailedEmail::Security(notice),
        error: &error.to_string(),
    };
    record_refused_email(app, &failed, now, Some(now + retry_delay(0))).await;
}

/// An email SES refused: about which record (`user:ID`, `employee:ID`), to whom, which
/// email, and SES's answer.
pub(super) struct RefusedEmail<'a> {
    pub subject: &'a str,
    pub to: &'a str,
    pub email: FailedEmail,
    pub error: &'a str,
}

/// Counts an email SES refused and stores it for the team as an open notification, which
/// the retry schedule sends again from `retry_at` (`None`: never). Failing to store it, it
/// logs: the request's answer stands.
pub(super) async fn record_refused_email(
    app: &App,
    refused: &RefusedEmail<'_>,
    now: i64,
    retry_at: Option<i64>,
) {
    metrics::count(Metric::EmailsFailed);
    let notification = Notification {
        kind: Status::EmailSendFailed.slug(),
        subject: refused.subject,
        recipient: Some(refused.to),
        email: Some(refused.email),
        detail: refused.error,
    };
    let notifications = app.db.notifications();
    if let Err(error) = notifications.record(&notification, now, retry_at).await {
        let subject = refused.subject;
        tracing::error!(subject, cause = %error, "notification not stored");
    }
}
