//! Retrying the welcome emails and security notices SES would not send (the five-minute
//! schedule, and the operator's `notifications retry`).
//!
//! A failed welcome or security notice leaves an open notification. The schedule tries it again after
//! [`retry_delay`]: 5 minutes, then 10, 20, 40, 80 and 160, [`MAX_RETRIES`] retries over
//! about five hours. After the last one the notification stays open for the team, whose
//! `email-send-failed` alarm has fired at the first failure. Each attempt is claimed with
//! a conditional write before the email goes out, so schedules delivered twice and runs
//! that overlap send one email per attempt at most. (A runner that dies between sending
//! and recording leaves its claim to lapse, and the next attempt sends again: at least
//! once, never twice at once.)

use crate::app::App;
use crate::domain::{Employee, SecurityNotice};
use crate::mail::{Mailer, Onboarding};
use crate::metrics::{self, Metric};
use crate::store::StoreError;
use crate::store::notifications::{Claim, FailedEmail, Record};
use serde::Serialize;
use std::time::Instant;

/// Retries the schedule makes before it leaves a notification to the team.
pub const MAX_RETRIES: i64 = 6;
/// The wait before the first retry, doubled after each.
const FIRST_RETRY_DELAY: i64 = 5 * 60;
/// How long a claimed attempt is the claimant's: far longer than one SES call.
const CLAIM_LEASE: i64 = 120;

/// Seconds from an attempt to the next, after `attempts` retries.
pub fn retry_delay(attempts: i64) -> i64 {
    FIRST_RETRY_DELAY << attempts.clamp(0, 16)
}

/// What one retry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Retried {
    Sent {
        attempt: i64,
    },
    Failed {
        attempt: i64,
        error: String,
        /// `None`: the schedule has given up; the team decides.
        next_attempt_at: Option<i64>,
    },
    /// Another runner holds this attempt, or the notification was closed meanwhile.
    Taken,
    /// Not an email that can be sent again, or its employee is gone: nothing to send.
    NotRetryable {
        reason: String,
    },
}

/// What a run of the schedule did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryReport {
    pub sent: usize,
    pub failed: usize,
    /// Attempts other runners held.
    pub taken: usize,
    /// Open notifications whose retries are spent, left to the team.
    pub given_up: usize,
    /// Whether every due notification was tried before `stop_by`.
    pub complete: bool,
}

/// Retries every welcome email and security notice due at `now`, until done or `stop_by`.
pub async fn retry_due_emails(
    app: &App,
    mailer: &Mailer,
    now: i64,
    stop_by: Instant,
) -> Result<RetryReport, StoreError> {
    let mut report = RetryReport::default();
    for record in app.db.notifications().open().await? {
        if !record.email.is_some_and(FailedEmail::retried) {
            continue;
        }
        if record.attempts >= MAX_RETRIES {
            report.given_up += 1;
            continue;
        }
        if record.next_attempt_at.is_none_or(|at| at > now) {
            continue;
        }
        if Instant::now() >= stop_by {
            return Ok(report);
        }
        match retry(app, mailer, &record, now).await? {
            Retried::Sent { .. } => report.sent += 1,
            Retried::Failed { .. } => report.failed += 1,
            Retried::Taken => report.taken += 1,
            Retried::NotRetryable { .. } => {}
        }
    }
    report.complete = true;
    Ok(report)
}

/// Sends a notification's email again, now, and records the outcome: the notification
/// closes when SES accepts the email, and otherwise keeps the error and when the schedule
/// may try next.
pub async fn retry(
    app: &App,
    mailer: &Mailer,
    record: &Record,
    now: i64,
) -> Result<Retried, StoreError> {
    let email = match record.email {
        Some(FailedEmail::Welcome) => {
            let Some(employee_id) = record.welcome_for() else {
                return Ok(not_retryable("the welcome email names no employee"));
            };
            let Some(employee) = app.db.employees().find(employee_id).await? else {
                return Ok(not_retryable("the employee no longer exists"));
            };
            Email::Welcome(Box::new(employee))
        }
        Some(FailedEmail::Security(notice)) => match &record.recipient {
            Some(to) => Email::Security(notice, to),
            None => return Ok(not_retryable("the security notice names no recipient")),
        },
        Some(FailedEmail::PasswordReset) | None => {
            return Ok(not_retryable(
                "only welcome emails and security notices can be sent again",
            ));
        }
    };
    let notifications = app.db.notifications();
    let attempt = match notifications
        .claim(&record.id, record.attempts, now, CLAIM_LEASE)
        .await?
    {
        Claim::Claimed { attempt } => attempt,
        Claim::Taken => return Ok(Retried::Taken),
    };
    let sent = match &email {
        // The address as it is now: an operator may have corrected it since.
        Email::Welcome(employee) => {
            let welcome = Onboarding {
                to: &employee.email,
                first_name: employee.first_name.as_deref().unwrap_or_default(),
                last_name: employee.last_name.as_deref().unwrap_or_default(),
            };
            mailer.send_onboarding(&welcome).await
        }
        // To the address it was meant for (the old one, for an address changed from it),
        // of the change as it was made.
        Email::Security(notice, to) => {
            mailer
                .send_security_notice(to, *notice, record.created_at)
                .await
        }
    };
    match sent {
        Ok(()) => {
            metrics::count(Metric::EmailsSent);
            notifications.sent(&record.id, attempt, now).await?;
            tracing::info!(notification = record.id, attempt, "email sent on retry");
            Ok(Retried::Sent { attempt })
        }
        Err(error) => {
            metrics::count(Metric::EmailsFailed);
            let error = error.to_string();
            let next_attempt_at = (attempt < MAX_RETRIES).then(|| now + retry_delay(attempt));
            notifications
                .failed(&record.id, &error, next_attempt_at)
                .await?;
            tracing::warn!(
                notification = record.id,
                attempt,
                cause = error,
                "email retry failed"
            );
            Ok(Retried::Failed {
                attempt,
                error,
                next_attempt_at,
            })
        }
    }
}

/// What a retry sends.
enum Email<'a> {
    Welcome(Box<Employee>),
    Security(SecurityNotice, &'a str),
}

fn not_retryable(reason: &str) -> Retried {
    Retried::NotRetryable {
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_five_minutes_doubling() {
        let delays: Vec<i64> = (0..MAX_RETRIES).map(retry_delay).collect();
        assert_eq!(delays, [300, 600, 1200, 2400, 4800, 9600]);
    }
}
