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
    metrics::count(Metric::EmailsFailed);
    let kind = notice.slug();
    tracing::error!(user_id, notice = kind, cause = %error, "security notice not sent");
    let subject = format!("user:{user_id}");
    let failed = Notification {
        kind: Status::EmailSendFailed.slug(),
        subject: &subject,
        recipient: Some(to),
        email: Some(FailedEmail::Security(notice)),
        detail: &error.to_string(),
    };
    let first_retry = Some(now + retry_delay(0));
    if let Err(error) = app
        .db
        .notifications()
        .record(&failed, now, first_retry)
        .await
    {
        tracing::error!(user_id, notice = kind, cause = %error, "notification not stored");
    }
}
