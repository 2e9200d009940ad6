//! Breached passwords, against the local stack: refused wherever a password is set,
//! and a right one at sign-in opens a session that must replace it.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::AuditAction;
use planoauth::mail::Mailer;
use planoauth::routes;
use planoauth::use_cases::{self, ResetRequests};
use planoauth_tests::{Answer, TestEnv, assert_status, links};
use serde_json::json;
use std::time::Duration;
use users_password_forgot::UsersPasswordForgot;

/// In the top million breached passwords, and long enough for the rest of the policy.
const BREACHED: &str = "Password1234";
/// One character away from one that is, and in no list.
const JUST_OUTSIDE: &str = "password1234x";
const CHOSEN: &str = "quartz-Meadow-64-lantern";
/// In the list too, and the password of none of the accounts here.
const WRONG_AND_BREACHED: &str = "iloveyou1234";

async fn setup() -> (TestEnv, String) {
    let env = TestEnv::new().await;
    let token = env
        .application_token(
            PlanoAuth,
            &[
                "photographers.create",
                "clients.register",
                "sessions.create",
                "passwords.reset",
            ],
        )
        .await;
    (env, token)
}

fn assert_breached(answer: &Answer, param: &str) {
    assert_status(answer, "invalid-param", 400);
    assert!(
        answer.message().contains(&format!("`{param}`"))
            && answer.message().contains("lists of breached passwords"),
        "{}",
        answer.body
    );
}

async fn create_photographer(env: &TestEnv, token: &str, email: &str, password: &str) -> Answer {
    let params = json!({ "token": token, "email": email, "first_name": "Dorothea",
        "last_name": "Lange", "password": password, "phone": "+1 555 010 2000" });
    env.call_encoded(env.route(routes::PHOTOGRAPHERS_CREATE), &params)
        .await
}

async fn sign_in(env: &TestEnv, token: &str, email: &str, password: &str) -> Answer {
    let params = json!({ "token": token, "email": email, "password": password });
    env.call_encoded(env.route(routes::SESSIONS_CREATE), &params)
        .await
}

fn session_token(answer: &Answer) -> String {
    answer.session()["token"].as_str().unwrap().to_owned()
}

async fn change(env: &TestEnv, session: &str, current: &str, new: &str) -> Answer {
    let params = json!({ "token": session, "current_password": current, "new_password": new });
    env.call_encoded(env.route(routes::USERS_PASSWORD_UPDATE), &params)
        .await
}

#[tokio::test]
async fn a_breached_password_is_refused_wherever_one_is_set() {
    let (env, token) = setup().await;

    // photographers/create: nothing is written for the refused one.
    let refused_address = env.unique_email("photographer");
    let refused = create_photographer(&env, &token, &refused_address, BREACHED).await;
    assert_breached(&refused, "password");
    let owner = env.app.db.emails().owner(&refused_address).await.unwrap();
    assert_eq!(owner, None, "no account for the refused address");
    let email = env.unique_email("photographer");
    let created = create_photographer(&env, &token, &email, JUST_OUTSIDE).await;
    assert_status(&created, "action-successful", 200);

    // users/client_register, case-insensitively.
    let client = |password: &str| {
        json!({ "token": token, "email": env.unique_email("client"), "password": password,
            "first_name": "Berenice", "last_name": "Abbott", "phone": "+1 555 010 2000" })
    };
    let register = env.route(routes::USERS_CLIENT_REGISTER);
    let refused = env.call_encoded(register, &client("QWERTY123456")).await;
    assert_breached(&refused, "password");
    let registered = env.call_encoded(register, &client(CHOSEN)).await;
    assert_status(&registered, "action-successful", 200);

    // users/password_update.
    let session = session_token(&sign_in(&env, &token, &email, JUST_OUTSIDE).await);
    let refused = change(&env, &session, JUST_OUTSIDE, "iloveyou1234").await;
    assert_breached(&refused, "new_password");
    let changed = change(&env, &session, JUST_OUTSIDE, CHOSEN).await;
    assert_status(&changed, "action-successful", 200);

    // users/password_reset: the refusal leaves the emailed token working.
    let forgot = UsersPasswordForgot {
        mailer: Mailer::new(env.ses.clone(), planoauth_tests::SENDER, links()),
        pacing: ResetRequests {
            answer_after: Duration::ZERO,
            ..ResetRequests::default()
        },
    };
    let asked = env
        .call(&forgot, &json!({ "token": token, "email": email }))
        .await;
    assert_status(&asked, "action-successful", 200);
    let reset_token = env.emailed_reset_token(&email).await;
    let reset =
        |new: &str| json!({ "token": token, "reset_token": reset_token, "new_password": new });
    let reset_route = env.route(routes::USERS_PASSWORD_RESET);
    let refused = env.call_encoded(reset_route, &reset("qazwsxedcrfv")).await;
    assert_breached(&refused, "new_password");
    let done = env.call_encoded(reset_route, &reset(JUST_OUTSIDE)).await;
    assert_status(&done, "action-successful", 200);
    let signed_in = sign_in(&env, &token, &email, JUST_OUTSIDE).await;
    assert_status(&signed_in, "action-successful", 200);
    assert_eq!(signed_in.session()["password_change_required"], false);
}

#[tokio::test]
async fn a_right_breached_password_opens_a_session_that_must_replace_it() {
    let (env, token) = setup().await;
    // An account whose password was set before the list refused it.
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some("password1234"))
        .await;
    let email = employee.email.as_str().to_owned();

    let signed_in = sign_in(&env, &token, &email, "password1234").await;
    assert_status(&signed_in, "action-successful", 200);
    assert_eq!(signed_in.session()["password_change_required"], true);
    let session = session_token(&signed_in);
    let update = json!({ "token": session, "id": employee.id, "phone": "+1 555 010 3000" });
    let held = env.call(env.route(routes::EMPLOYEES_UPDATE), &update).await;
    assert_status(&held, "password-change-required", 403);

    // A role granted meanwhile refreshes the session's grants, not its owed change.
    let audit = env.audit(AuditAction::RoleGranted, employee.id);
    use_cases::grant_role_now(&env.app, employee.id, PlanoAuth, "admin", &audit)
        .await
        .unwrap();
    let held = env.call(env.route(routes::EMPLOYEES_UPDATE), &update).await;
    assert_status(&held, "password-change-required", 403);

    // A wrong password, breached itself, answers for this account as for another one
    // and for an address without an account.
    let other = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(CHOSEN))
        .await;
    let unknown = env.unique_email("nobody");
    let answers = [
        sign_in(&env, &token, &email, WRONG_AND_BREACHED).await,
        sign_in(&env, &token, other.email.as_str(), WRONG_AND_BREACHED).await,
        sign_in(&env, &token, &unknown, WRONG_AND_BREACHED).await,
    ];
    for answer in &answers {
        assert_status(answer, "invalid-param", 400);
        assert_eq!(answer.body, answers[0].body);
    }

    // Replaced, the password signs in with nothing more to do.
    let changed = change(&env, &session, "password1234", CHOSEN).await;
    assert_status(&changed, "action-successful", 200);
    assert_eq!(changed.session()["password_change_required"], false);
    let again = sign_in(&env, &token, &email, CHOSEN).await;
    assert_eq!(again.session()["password_change_required"], false);
}
