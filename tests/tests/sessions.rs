//! `POST /api/v1/sessions/create`, `/sessions/show` and `/sessions/delete`: signing in,
//! guests, the session's life and signing out, against the local stack.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::Employee;
use planoauth::domain::{ABSOLUTE_LIFETIME, IDLE_LIFETIME};
use planoauth::domain::{Limit, Limits};
use planoauth::routes;
use planoauth::store::sessions::USE_RECORDING_INTERVAL;
use planoauth_tests::{Answer, TestEnv, assert_status};
use serde_json::{Value, json};
use sessions_create::SessionsCreate;

const PASSWORD: &str = "quiet-Lantern-58-meadow";
const HOUR: i64 = 60 * 60;

/// An environment, a token that may sign users in, and a manager who can.
async fn setup() -> (TestEnv, String, Employee) {
    let env = TestEnv::new().await;
    let token = env.application_token(PlanoAuth, &["sessions.create"]).await;
    let manager = env
        .employee_with_password(&[(PlanoAuth, "manager")], Some(PASSWORD))
        .await;
    (env, token, manager)
}

async fn sign_in(env: &TestEnv, token: &str, params: Value) -> Answer {
    let mut body = json!({ "token": token });
    if let (Some(body), Value::Object(params)) = (body.as_object_mut(), params) {
        body.extend(params);
    }
    env.call_encoded(env.route(routes::SESSIONS_CREATE), &body)
        .await
}

async fn show(env: &TestEnv, session: &str) -> Answer {
    env.call(
        env.route(routes::SESSIONS_SHOW),
        &json!({ "token": session, "session_view": "internalapps_view" }),
    )
    .await
}

async fn update_self(env: &TestEnv, session: &str, employee: &Employee) -> Answer {
    env.call(
        env.route(routes::EMPLOYEES_UPDATE),
        &json!({ "token": session, "id": employee.id, "email": employee.email }),
    )
    .await
}

/// The token of a session `manager` opened by signing in.
async fn signed_in(env: &TestEnv, token: &str, manager: &Employee) -> String {
    let credentials = json!({ "email": manager.email, "password": PASSWORD });
    session_token(&sign_in(env, token, credentials).await)
}

fn session_token(answer: &Answer) -> String {
    answer.session()["token"]
        .as_str()
        .expect("the new session's token")
        .to_owned()
}

#[tokio::test]
async fn sign_in_use_show_and_sign_out() {
    let (env, token, manager) = setup().await;
    let signed_in = sign_in(
        &env,
        &token,
        json!({ "email": manager.email.to_uppercase(), "password": PASSWORD }),
    )
    .await;
    assert_status(&signed_in, "action-successful", 200);
    let session = session_token(&signed_in);
    assert!(session.starts_with("pa_ses_"));
    assert_eq!(signed_in.session()["user_id"], manager.id);
    assert_eq!(signed_in.session()["application"], "planoauth");
    assert_eq!(signed_in.session()["remember_me"], false);

    assert_status(
        &update_self(&env, &session, &manager).await,
        "action-successful",
        200,
    );

    let shown = show(&env, &session).await;
    assert_status(&shown, "action-successful", 200);
    assert_eq!(shown.session()["id"], signed_in.session()["id"]);
    assert_eq!(shown.session()["profiles"], json!(["employee"]));
    assert!(
        shown.session().get("token").is_none(),
        "the token is only in the sign-in answer"
    );

    let signed_out = env
        .call(
            env.route(routes::SESSIONS_DELETE),
            &json!({ "token": session }),
        )
        .await;
    assert_status(&signed_out, "action-successful", 200);
    assert_eq!(signed_out.data()["ended"], 1);
    assert_status(
        &update_self(&env, &session, &manager).await,
        "invalid-token",
        401,
    );
    assert_status(&show(&env, &session).await, "invalid-token", 401);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let (env, token, manager) = setup().await;
    let wrong_password = sign_in(
        &env,
        &token,
        json!({ "email": manager.email, "password": "not-the-Password-1" }),
    )
    .await;
    let unknown_email = sign_in(
        &env,
        &token,
        json!({ "email": env.unique_email("nobody"), "password": "not-the-Password-1" }),
    )
    .await;
    assert_status(&wrong_password, "invalid-param", 400);
    assert_eq!(wrong_password.body, unknown_email.body);
    assert_eq!(wrong_password.http, unknown_email.http);
    assert!(wrong_password.body.get("session").is_none());
}

#[tokio::test]
async fn remember_me_sessions_have_no_expiry() {
    let (env, token, manager) = setup().await;
    let answer = sign_in(
        &env,
        &token,
        json!({ "email": manager.email, "password": PASSWORD, "remember_me": true }),
    )
    .await;
    assert_eq!(answer.session()["remember_me"], true);
    assert_eq!(answer.session()["expires_at"], Value::Null);
    let session = session_token(&answer);
    env.advance(ABSOLUTE_LIFETIME * 5);
    assert_status(&show(&env, &session).await, "action-successful", 200);
}

#[tokio::test]
async fn a_signed_in_session_expires_after_72_hours_unused() {
    let (env, token, manager) = setup().await;
    let session = signed_in(&env, &token, &manager).await;
    env.advance(IDLE_LIFETIME);
    assert_status(&show(&env, &session).await, "action-successful", 200);
    env.advance(IDLE_LIFETIME + 1);
    assert_status(&show(&env, &session).await, "session-expired", 401);
}

#[tokio::test]
async fn a_signed_in_session_in_use_expires_after_seven_days() {
    let (env, token, manager) = setup().await;
    let session = signed_in(&env, &token, &manager).await;
    for _ in 0..3 {
        env.advance(50 * HOUR);
        assert_status(&show(&env, &session).await, "action-successful", 200);
    }
    // Its use is recorded a minute before the seven days end; the use at the end only reads.
    env.advance(ABSOLUTE_LIFETIME - 150 * HOUR - 60);
    assert_status(&show(&env, &session).await, "action-successful", 200);
    env.advance(60);
    assert_status(&show(&env, &session).await, "action-successful", 200);
    env.advance(1);
    let (answer, _, writes) = show_counted(&env, &session).await;
    assert_status(&answer, "session-expired", 401);
    assert_eq!(writes, 0, "an expired session is not written");
}

#[tokio::test]
async fn without_credentials_a_guest_session_is_opened() {
    let (env, token, manager) = setup().await;
    let guest = sign_in(&env, &token, json!({})).await;
    assert_status(&guest, "action-successful", 200);
    assert_eq!(guest.session()["user_id"], Value::Null);
    let session = session_token(&guest);
    assert_status(&show(&env, &session).await, "action-successful", 200);
    let refused = update_self(&env, &session, &manager).await;
    assert_status(&refused, "client-required", 401);
    assert_eq!(refused.session()["id"], guest.session()["id"]);
}

#[tokio::test]
async fn email_and_password_come_together() {
    let (env, token, manager) = setup().await;
    let only_email = sign_in(&env, &token, json!({ "email": manager.email })).await;
    assert_status(&only_email, "missing-param", 400);
    assert!(only_email.message().contains("`password`"));
    let only_password = sign_in(&env, &token, json!({ "password": PASSWORD })).await;
    assert_status(&only_password, "missing-param", 400);
    assert!(only_password.message().contains("`email`"));
    let bad_flag = sign_in(&env, &token, json!({ "remember_me": "yes" })).await;
    assert_status(&bad_flag, "invalid-param", 400);
}

#[tokio::test]
async fn repeated_failures_are_throttled_for_the_rest_of_the_hour() {
    let (env, token, manager) = setup().await;
    let unknown = env.unique_email("nobody");
    // Start at the top of an hour so the window does not roll over mid-test.
    env.clock.set((env.now() / HOUR + 1) * HOUR);
    for attempt in 0..105 {
        for email in [&manager.email, &unknown] {
            let guess = json!({ "email": email, "password": format!("wrong-Guess-{attempt}") });
            let answer = sign_in(&env, &token, guess).await;
            let expected = if attempt < 100 {
                "invalid-param"
            } else {
                "too-many-attempts"
            };
            assert_eq!(
                answer.status(),
                expected,
                "attempt {attempt}: {}",
                answer.body
            );
        }
    }
    // An address with an account and one without answer alike, the right password too.
    let known = sign_in(
        &env,
        &token,
        json!({ "email": manager.email, "password": PASSWORD }),
    )
    .await;
    let stranger = sign_in(
        &env,
        &token,
        json!({ "email": unknown, "password": PASSWORD }),
    )
    .await;
    assert_status(&known, "too-many-attempts", 429);
    assert_eq!((known.http, &known.body), (stranger.http, &stranger.body));

    // Other addresses are not affected, and the lock ends with the hour.
    let other = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    assert_status(
        &sign_in(
            &env,
            &token,
            json!({ "email": other.email, "password": PASSWORD }),
        )
        .await,
        "action-successful",
        200,
    );
    env.advance(HOUR);
    assert_status(
        &sign_in(
            &env,
            &token,
            json!({ "email": manager.email, "password": PASSWORD }),
        )
        .await,
        "action-successful",
        200,
    );
}

#[tokio::test]
async fn failures_through_one_server_are_braked_across_addresses() {
    let (env, token, manager) = setup().await;
    env.clock.set((env.now() / HOUR + 1) * HOUR);
    let limits = Limits {
        per_server: Limit {
            attempts: 3,
            window_seconds: 10 * 60,
        },
        ..Limits::PASSWORDS
    };
    let endpoint = SessionsCreate { limits };
    for _ in 0..3 {
        let guess = json!({ "token": token, "email": env.unique_email("sprayed"), "password": "wrong-Guess-1" });
        assert_status(
            &env.call_encoded(&endpoint, &guess).await,
            "invalid-param",
            400,
        );
    }
    let right = json!({ "token": token, "email": manager.email, "password": PASSWORD });
    assert_status(
        &env.call_encoded(&endpoint, &right).await,
        "too-many-attempts",
        429,
    );
    env.advance(limits.per_server.window_seconds);
    assert_status(
        &env.call_encoded(&endpoint, &right).await,
        "action-successful",
        200,
    );
}

#[tokio::test]
async fn a_deactivated_employee_cannot_sign_in() {
    let (env, token, manager) = setup().await;
    let admin_token = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let deactivated = env
        .call(
            env.route(routes::EMPLOYEES_UPDATE),
            &json!({ "token": admin_token, "id": manager.id, "email": manager.email, "active": false }),
        )
        .await;
    assert_status(&deactivated, "action-successful", 200);
    let answer = sign_in(
        &env,
        &token,
        json!({ "email": manager.email, "password": PASSWORD }),
    )
    .await;
    assert_status(&answer, "permission-denied", 403);
}

#[tokio::test]
async fn signing_in_needs_an_application_token_with_the_permission() {
    let (env, _, manager) = setup().await;
    let without = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let answer = sign_in(
        &env,
        &without,
        json!({ "email": manager.email, "password": PASSWORD }),
    )
    .await;
    assert_status(&answer, "permission-denied", 403);

    let session = env.session(manager.id, PlanoAuth, false).await;
    let answer = sign_in(&env, &session, json!({})).await;
    assert_status(&answer, "permission-denied", 403);
}

#[tokio::test]
async fn show_and_delete_act_on_sessions_only() {
    let (env, token, _) = setup().await;
    for answer in [
        env.call(env.route(routes::SESSIONS_SHOW), &json!({ "token": token }))
            .await,
        env.call(
            env.route(routes::SESSIONS_DELETE),
            &json!({ "token": token }),
        )
        .await,
    ] {
        assert_status(&answer, "permission-denied", 403);
    }
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_of_the_user() {
    let (env, token, manager) = setup().await;
    let credentials = json!({ "email": manager.email, "password": PASSWORD });
    let first = session_token(&sign_in(&env, &token, credentials.clone()).await);
    let second = session_token(&sign_in(&env, &token, credentials.clone()).await);
    let third = session_token(&sign_in(&env, &token, credentials).await);

    let one = env
        .call(
            env.route(routes::SESSIONS_DELETE),
            &json!({ "token": first }),
        )
        .await;
    assert_eq!(one.data()["ended"], 1);
    assert_status(&show(&env, &second).await, "action-successful", 200);

    let everywhere = env
        .call(
            env.route(routes::SESSIONS_DELETE),
            &json!({ "token": second, "all": true }),
        )
        .await;
    assert_status(&everywhere, "action-successful", 200);
    assert_eq!(everywhere.data()["ended"], 2);
    for session in [first, second, third] {
        assert_status(&show(&env, &session).await, "invalid-token", 401);
    }
}

#[tokio::test]
async fn each_use_extends_the_idle_window() {
    let (env, token, manager) = setup().await;
    let session = signed_in(&env, &token, &manager).await;
    env.advance(IDLE_LIFETIME - HOUR);
    assert_status(&show(&env, &session).await, "action-successful", 200);
    env.advance(IDLE_LIFETIME - HOUR);
    assert_status(&show(&env, &session).await, "action-successful", 200);
    env.advance(IDLE_LIFETIME + 1);
    assert_status(&show(&env, &session).await, "session-expired", 401);
}

/// A `sessions/show` with the DynamoDB calls and writes it made.
async fn show_counted(env: &TestEnv, session: &str) -> (Answer, usize, usize) {
    let (calls, writes) = (env.calls.count(), env.calls.writes());
    let answer = show(env, session).await;
    let cost = (env.calls.count() - calls, env.calls.writes() - writes);
    (answer, cost.0, cost.1)
}

#[tokio::test]
async fn a_use_within_the_recording_interval_is_one_read_and_no_write() {
    let (env, token, manager) = setup().await;
    let session = signed_in(&env, &token, &manager).await;
    // The first use also reads the route's switches, which the process then keeps.
    let first = show(&env, &session).await;
    env.advance(60);
    let (answer, calls, writes) = show_counted(&env, &session).await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!((calls, writes), (1, 0), "one GetItem");
    assert_eq!(
        answer.session()["last_used_at"],
        first.session()["last_used_at"],
        "the stored use is kept"
    );
    env.advance(USE_RECORDING_INTERVAL - 61);
    let (_, calls, writes) = show_counted(&env, &session).await;
    assert_eq!((calls, writes), (1, 0), "still within the interval");
}

#[tokio::test]
async fn a_use_after_the_recording_interval_is_recorded() {
    let (env, token, manager) = setup().await;
    let session = signed_in(&env, &token, &manager).await;
    let first = show(&env, &session).await;
    env.advance(USE_RECORDING_INTERVAL);
    let (answer, calls, writes) = show_counted(&env, &session).await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!((calls, writes), (2, 1), "a GetItem and an UpdateItem");
    assert_ne!(
        answer.session()["last_used_at"],
        first.session()["last_used_at"]
    );
    let (_, calls, writes) = show_counted(&env, &session).await;
    assert_eq!(
        (calls, writes),
        (1, 0),
        "recorded, so the next use only reads"
    );
}

#[tokio::test]
async fn within_the_recording_interval_a_signed_out_session_is_refused_at_once() {
    let (env, token, manager) = setup().await;
    let session = signed_in(&env, &token, &manager).await;
    assert_status(&show(&env, &session).await, "action-successful", 200);
    let signed_out = env
        .call(
            env.route(routes::SESSIONS_DELETE),
            &json!({ "token": session }),
        )
        .await;
    assert_status(&signed_out, "action-successful", 200);
    env.advance(1);
    assert_status(&show(&env, &session).await, "invalid-token", 401);
}

#[tokio::test]
async fn an_expired_session_is_never_revived() {
    let (env, token, manager) = setup().await;
    let session = signed_in(&env, &token, &manager).await;
    env.advance(IDLE_LIFETIME + 1);
    let first = show(&env, &session).await;
    assert_status(&first, "session-expired", 401);
    assert!(
        first.session().is_object(),
        "the expired session is returned"
    );
    let last_used = first.session()["last_used_at"].clone();
    let again = show(&env, &session).await;
    assert_status(&again, "session-expired", 401);
    assert_eq!(
        again.session()["last_used_at"],
        last_used,
        "a refused use is not recorded"
    );
}
