//! Security notices: after a password change and a password reset the owner gets one
//! email saying so (address changes: `acting_on.rs`), with no secret in it; when SES
//! refuses it, the change stands and the retry schedule sends it later. Against the local
//! stack's DynamoDB and SES.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use lambda_runtime::{Context, LambdaEvent};
use planoauth::domain::Application::PlanoAuth;
use planoauth::mail::Mailer;
use planoauth::routes;
use planoauth_tests::{Answer, SENDER, TestEnv, assert_status, links, repository_root};
use serde_json::{Value, json};
use users_password_update::UsersPasswordUpdate;

const PASSWORD: &str = "birch-Canyon-73-lantern";
const CHOSEN: &str = "opal-Meadow-26-harbor";
/// A sender SES refuses: it was never verified.
const REFUSED_SENDER: &str = "unverified@planoauth.test";

async fn sign_in(env: &TestEnv, token: &str, email: &str, password: &str) -> Answer {
    let credentials = json!({ "token": token, "email": email, "password": password });
    env.call_encoded(env.route(routes::SESSIONS_CREATE), &credentials)
        .await
}

fn notices<'a>(sent: &'a [Value], subject: &str) -> Vec<&'a Value> {
    sent.iter()
        .filter(|message| message["subject"] == subject)
        .collect()
}

fn assert_holds_no_secret(notice: &Value, secrets: &[&str]) {
    let text = notice.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(!text.contains("reset_token"), "{text}");
    assert!(text.contains(&links().sign_in), "{text}");
}

async fn setup() -> (TestEnv, String, String) {
    let env = TestEnv::isolated("security-notices").await;
    let token = env
        .application_token(PlanoAuth, &["sessions.create", "passwords.reset"])
        .await;
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    (env, token, employee.email)
}

#[tokio::test]
async fn a_password_change_is_told_to_the_owner_once() {
    let (env, token, email) = setup().await;
    let session = sign_in(&env, &token, &email, PASSWORD).await;
    let session = session.session()["token"].as_str().unwrap().to_owned();
    let change = json!({ "token": session, "current_password": PASSWORD, "new_password": CHOSEN });
    let answer = env
        .call_encoded(env.route(routes::USERS_PASSWORD_UPDATE), &change)
        .await;
    assert_status(&answer, "action-successful", 200);
    let sent = env.sent_emails(&email).await;
    let told = notices(&sent, "Your PlanoAuth password was changed");
    assert_eq!((sent.len(), told.len()), (1, 1), "{sent:?}");
    assert_eq!(told[0]["source"], SENDER);
    let new_token = answer.session()["token"].as_str().unwrap();
    assert_holds_no_secret(told[0], &[PASSWORD, CHOSEN, &session, new_token]);
}

#[tokio::test]
async fn a_password_reset_is_told_to_the_owner_once() {
    let (env, token, email) = setup().await;
    let forgot = env
        .call(
            env.route(routes::USERS_PASSWORD_FORGOT),
            &json!({ "token": token, "email": email }),
        )
        .await;
    assert_status(&forgot, "action-successful", 200);
    let reset_token = env.emailed_reset_token(&email).await;
    let reset = env
        .call_encoded(
            env.route(routes::USERS_PASSWORD_RESET),
            &json!({ "token": token, "reset_token": reset_token, "new_password": CHOSEN }),
        )
        .await;
    assert_status(&reset, "action-successful", 200);
    let sent = env.sent_emails(&email).await;
    let told = notices(&sent, "Your PlanoAuth password was reset");
    assert_eq!(
        (sent.len(), told.len()),
        (2, 1),
        "the reset email, then the notice"
    );
    assert_holds_no_secret(told[0], &[&reset_token, CHOSEN, PASSWORD]);
}

#[tokio::test]
async fn a_notice_ses_refuses_leaves_the_change_made_and_is_sent_by_the_retry_schedule() {
    let (env, token, email) = setup().await;
    let session = sign_in(&env, &token, &email, PASSWORD).await;
    let session = session.session()["token"].as_str().unwrap().to_owned();
    let refusing = UsersPasswordUpdate {
        mailer: Mailer::new(env.ses.clone(), REFUSED_SENDER, links()),
        limits: planoauth::domain::Limits::PASSWORDS,
    };
    let change = json!({ "token": session, "current_password": PASSWORD, "new_password": CHOSEN });
    let answer = env.call_encoded(&refusing, &change).await;
    assert_status(&answer, "action-successful", 200);
    assert_status(
        &sign_in(&env, &token, &email, CHOSEN).await,
        "action-successful",
        200,
    );
    assert!(env.sent_emails(&email).await.is_empty());
    let open = env.admin("notifications list --open").await.unwrap();
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["email"], "security-notice:password-changed");
    assert_eq!(open[0]["recipient"], email.as_str());

    // The schedule's first retry is five minutes on; then SES sends it.
    env.advance(5 * 60);
    let event =
        std::fs::read_to_string(repository_root().join("events/notifications-retry.json")).unwrap();
    let event = LambdaEvent::new(serde_json::from_str(&event).unwrap(), Context::default());
    let mailer = Mailer::new(env.ses.clone(), SENDER, links());
    let report = notifications_retry::handle(&env.app, &mailer, event)
        .await
        .unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let sent = env.sent_emails(&email).await;
    let told = notices(&sent, "Your PlanoAuth password was changed");
    assert_eq!((sent.len(), told.len()), (1, 1));
    assert!(
        env.admin("notifications list --open")
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
}
