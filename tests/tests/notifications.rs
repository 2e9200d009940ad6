//! Failed welcome emails, from the notification they leave to the retries that send them:
//! the operator's `notifications` commands and the five-minute retry function, on the
//! local DynamoDB and SES. Each test has tables of its own: the retry schedule works on
//! every open notification it finds.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use lambda_runtime::{Context, LambdaEvent};
use photographers_create::PhotographersCreate;
use planoauth::domain::Application::PlanoAuth;
use planoauth::mail::Mailer;
use planoauth::use_cases::{MAX_RETRIES, retry_delay};
use planoauth_tests::{SENDER, TestEnv, assert_status, links, repository_root};
use serde_json::{Value, json};

/// A sender SES refuses: it was never verified.
const REFUSED_SENDER: &str = "unverified@planoauth.test";

fn mailer(env: &TestEnv, sender: &str) -> Mailer {
    Mailer::new(env.ses.clone(), sender, links())
}

/// Creates a photographer while SES refuses the welcome email; returns their address
/// and the notification's id.
async fn photographer_without_welcome(env: &TestEnv) -> (String, String) {
    let token = env
        .application_token(PlanoAuth, &["photographers.create"])
        .await;
    let email = env.unique_email("unwelcomed");
    let refused = PhotographersCreate {
        mailer: mailer(env, REFUSED_SENDER),
    };
    let params = json!({
        "token": token,
        "email": email,
        "first_name": "Imogen",
        "last_name": "Cunningham",
        "password": "quiet-Harbor-77-lantern",
        "phone": "+1 (555) 010-3000",
    });
    let answer = env.call_encoded(&refused, &params).await;
    assert_status(&answer, "email-send-failed", 500);
    let open = env.admin("notifications list --open").await.unwrap();
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 1, "one open notification: {open:?}");
    assert_eq!(open[0]["recipient"], email.as_str());
    assert_eq!(open[0]["email"], "welcome");
    (email, open[0]["id"].as_str().unwrap().to_owned())
}

/// One run of the retry function, through its entry point.
async fn scheduled_run(env: &TestEnv, sender: &str) -> planoauth::use_cases::RetryReport {
    let event =
        std::fs::read_to_string(repository_root().join("events/notifications-retry.json")).unwrap();
    let event = LambdaEvent::new(serde_json::from_str(&event).unwrap(), Context::default());
    notifications_retry::handle(&env.app, &mailer(env, sender), event)
        .await
        .unwrap()
}

/// The operator's `notifications retry`, sending through SES as it accepts mail.
async fn retry_by_hand(env: &TestEnv, id: &str) -> Value {
    env.admin_mailing(
        Some(mailer(env, SENDER)),
        &format!("notifications retry --id {id}"),
    )
    .await
    .unwrap()
}

async fn show(env: &TestEnv, id: &str) -> Value {
    env.admin(&format!("notifications show --id {id}"))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_schedule_sends_a_failed_welcome_once_ses_accepts_it_again() {
    let env = TestEnv::isolated("notifications-retry").await;
    let (email, id) = photographer_without_welcome(&env).await;

    // Not yet due: the first retry waits five minutes.
    let report = scheduled_run(&env, SENDER).await;
    assert_eq!((report.sent, report.failed), (0, 0));

    // While SES keeps refusing, each due run makes one attempt and schedules the next.
    for attempt in 1..=2 {
        env.advance(retry_delay(attempt - 1));
        let report = scheduled_run(&env, REFUSED_SENDER).await;
        assert_eq!((report.sent, report.failed), (0, 1));
        let notification = show(&env, &id).await;
        assert_eq!(notification["open"], true);
        assert_eq!(notification["attempts"], attempt);
        assert!(!notification["last_error"].as_str().unwrap().is_empty());
        assert_eq!(
            notification["next_attempt_at"],
            env.now() + retry_delay(attempt)
        );
    }
    assert!(env.sent_emails(&email).await.is_empty());

    // SES accepts again: the next due run sends the welcome, once, and closes it.
    env.advance(retry_delay(2));
    let report = scheduled_run(&env, SENDER).await;
    assert_eq!((report.sent, report.failed), (1, 0));
    let notification = show(&env, &id).await;
    assert_eq!(notification["open"], false);
    assert_eq!(notification["resolution"], "sent on retry 3");
    let sent = env.sent_emails(&email).await;
    assert_eq!(sent.len(), 1, "exactly one welcome email: {sent:?}");
    assert!(sent[0]["subject"].as_str().unwrap().contains("Imogen"));

    // Closed: later runs leave it alone, and nothing more is sent.
    env.advance(retry_delay(3));
    let report = scheduled_run(&env, SENDER).await;
    assert_eq!((report.sent, report.failed), (0, 0));
    assert_eq!(env.sent_emails(&email).await.len(), 1);
    assert!(
        env.admin("notifications list --open")
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn after_its_last_retry_a_notification_stays_open_for_the_team() {
    let env = TestEnv::isolated("notifications-give-up").await;
    let (email, id) = photographer_without_welcome(&env).await;
    for attempt in 1..=MAX_RETRIES {
        env.advance(retry_delay(attempt - 1));
        let report = scheduled_run(&env, REFUSED_SENDER).await;
        assert_eq!(report.failed, 1, "retry {attempt}");
    }
    let notification = show(&env, &id).await;
    assert_eq!(notification["open"], true);
    assert_eq!(notification["attempts"], MAX_RETRIES);
    assert!(notification["next_attempt_at"].is_null());

    // The schedule has given up, however long it waits.
    env.advance(retry_delay(MAX_RETRIES) * 4);
    let report = scheduled_run(&env, SENDER).await;
    assert_eq!((report.sent, report.failed, report.given_up), (0, 0, 1));
    assert!(env.sent_emails(&email).await.is_empty());

    // The operator retries by hand once SES is fixed, and the notification closes.
    let retried = retry_by_hand(&env, &id).await;
    assert_eq!(retried["retried"]["outcome"], "sent");
    assert_eq!(env.sent_emails(&email).await.len(), 1);
    assert_eq!(show(&env, &id).await["open"], false);
    let again = env.admin(&format!("notifications retry --id {id}")).await;
    assert!(again.unwrap_err().contains("resolved"));
}

#[tokio::test]
async fn an_operator_resolves_a_notification_with_a_note() {
    let env = TestEnv::isolated("notifications-resolve").await;
    let (email, id) = photographer_without_welcome(&env).await;
    let resolved = env
        .admin(&format!("notifications resolve --id {id} --note phoned"))
        .await
        .unwrap();
    assert_eq!(resolved["resolved"], true);
    let notification = show(&env, &id).await;
    assert_eq!(notification["open"], false);
    assert_eq!(notification["resolution"], "phoned");
    // The operator tool's clock is the system's, which the test's has not passed.
    assert!(notification["resolved_at"].as_i64().unwrap() >= env.now());

    // Resolved: listed among all, not among the open ones, and never retried.
    let all = env.admin("notifications list").await.unwrap();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == id.as_str())
    );
    let open = env.admin("notifications list --open").await.unwrap();
    assert!(open.as_array().unwrap().is_empty());
    env.advance(retry_delay(0));
    assert_eq!(scheduled_run(&env, SENDER).await.sent, 0);
    assert!(env.sent_emails(&email).await.is_empty());

    let twice = env
        .admin(&format!("notifications resolve --id {id} --note again"))
        .await;
    assert!(twice.unwrap_err().contains("no open notification"));
    let unknown = env.admin("notifications show --id nothing").await;
    assert!(unknown.unwrap_err().contains("no notification"));
}

#[tokio::test]
async fn overlapping_runs_send_one_email_per_attempt() {
    let env = TestEnv::isolated("notifications-overlap").await;
    let (email, id) = photographer_without_welcome(&env).await;
    env.advance(retry_delay(0));
    // Schedules arrive at least once, and a slow run can overlap the next: four at once.
    let runs = futures_util::future::join_all((0..4).map(|_| scheduled_run(&env, SENDER))).await;
    let sent: usize = runs.iter().map(|report| report.sent).sum();
    assert_eq!(sent, 1, "{runs:?}");
    assert_eq!(env.sent_emails(&email).await.len(), 1);
    assert_eq!(show(&env, &id).await["attempts"], 1);
}

#[tokio::test]
async fn a_password_reset_email_is_not_sent_again() {
    let env = TestEnv::isolated("notifications-reset").await;
    let user = env.user_without_records().await;
    let notification = planoauth::store::notifications::Notification {
        kind: "email-send-failed",
        subject: &format!("user:{user}"),
        recipient: Some("someone@planoauth.test"),
        email: Some(planoauth::store::notifications::FailedEmail::PasswordReset),
        detail: "MessageRejected: Email address is not verified.",
    };
    let id = env
        .app
        .db
        .notifications()
        .record(&notification, env.now(), None)
        .await
        .unwrap();
    env.advance(retry_delay(MAX_RETRIES));
    let report = scheduled_run(&env, SENDER).await;
    assert_eq!((report.sent, report.failed), (0, 0));
    let retried = retry_by_hand(&env, &id).await;
    assert_eq!(retried["retried"]["outcome"], "not-retryable");
    assert_eq!(show(&env, &id).await["open"], true);
}
