//! What production's DynamoDB does and a plain emulator does not: throttling, server
//! errors, transaction conflicts on a busy record, and answers lost after the write
//! applied. The local stack does each of these on a test's own tables
//! (`scripts/local_dynamodb.py`); no caller may hear a 5xx for any of them.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use futures_util::StreamExt;
use planoauth::attempts::{Person, password_throttles};
use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::{Limits, Origin};
use planoauth::routes;
use planoauth::tokens;
use planoauth_tests::{
    Answer, TestEnv, assert_no_server_errors, assert_status, injected, injected_since, set_faults,
    tally, with,
};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "rusty-Harbor-62-willow";

/// An isolated environment, its table prefix, and an application token for every route.
async fn setup(name: &str) -> (TestEnv, String, String) {
    let env = TestEnv::isolated(name).await;
    let token = env
        .application_token(
            PlanoAuth,
            &[
                "employees.update",
                "photographers.create",
                "sessions.create",
                "clients.register",
            ],
        )
        .await;
    let prefix = env.prefix.clone();
    (env, prefix, token)
}

fn photographer(env: &TestEnv, token: &str) -> Value {
    json!({
        "token": token,
        "email": env.unique_email("soak"),
        "first_name": "Imogen",
        "last_name": "Cunningham",
        "password": PASSWORD,
        "phone": "+1 555 010 4000",
        "service_area_id": 1,
    })
}

fn client(env: &TestEnv, token: &str) -> Value {
    json!({
        "token": token,
        "email": env.unique_email("soak-client"),
        "password": PASSWORD,
        "first_name": "Berenice",
        "last_name": "Abbott",
        "phone": "+1 555 010 5000",
    })
}

#[tokio::test]
async fn a_soak_through_throttling_and_server_errors_answers_every_request() {
    let (env, prefix, token) = setup("soak").await;
    let mut employees = Vec::new();
    for _ in 0..4 {
        employees.push(
            env.employee_with_password(&[(PlanoAuth, "manager")], Some(PASSWORD))
                .await,
        );
    }
    let session = env.session(employees[0].id, PlanoAuth, false).await;
    set_faults(
        &prefix,
        json!({ "throttle_rate": 0.05, "error_rate": 0.03 }),
    )
    .await;
    let before = injected(&prefix).await;

    let requests = (0..300).map(|i| {
        let (env, token, session) = (&env, &token, &session);
        let employee = &employees[i % employees.len()];
        async move {
            match i % 10 {
                0 => {
                    env.call_encoded(
                        env.route(routes::PHOTOGRAPHERS_CREATE),
                        &photographer(env, token),
                    )
                    .await
                }
                1 => {
                    env.call_encoded(
                        env.route(routes::USERS_CLIENT_REGISTER),
                        &client(env, token),
                    )
                    .await
                }
                2 | 3 => {
                    let sign_in =
                        json!({"token": token, "email": employee.email, "password": PASSWORD});
                    env.call_encoded(env.route(routes::SESSIONS_CREATE), &sign_in)
                        .await
                }
                4 => {
                    env.call_encoded(env.route(routes::SESSIONS_CREATE), &json!({"token": token}))
                        .await
                }
                5 | 6 => {
                    env.call(env.route(routes::SESSIONS_SHOW), &json!({"token": session}))
                        .await
                }
                _ => {
                    let change = json!({
                        "token": token, "id": employee.id, "email": employee.email,
                        "skills": [format!("skill-{i}")],
                    });
                    env.call(env.route(routes::EMPLOYEES_UPDATE), &change).await
                }
            }
        }
    });
    let answers: Vec<Answer> = futures_util::stream::iter(requests)
        .buffer_unordered(8)
        .collect()
        .await;

    assert_no_server_errors(&answers);
    assert!(
        answers.iter().all(|a| a.status() == "action-successful"),
        "{:?}",
        tally(&answers)
    );
    let throttles = injected_since(&prefix, &before, "throttles").await;
    let server_errors = injected_since(&prefix, &before, "server_errors").await;
    assert!(
        throttles > 10 && server_errors > 5,
        "the soak met too few faults to prove anything: {throttles} throttles, {server_errors} server errors"
    );
    env.assert_nothing_half_written().await;
}

/// An app whose DynamoDB calls give up on an answer after 1 s and send the request again,
/// as the functions' do after 2 s, and the local stack set to hold the next answer to
/// `operation` for 1.5 s after applying the write.
async fn stalling(env: &TestEnv, prefix: &str, operation: &str) -> planoauth::App {
    set_faults(
        prefix,
        json!({ "stall_ms": 1500, "stall_next": { "operation": operation, "count": 1 } }),
    )
    .await;
    env.with_attempt_timeout(Duration::from_secs(1))
}

#[tokio::test]
async fn a_stalled_session_write_that_applied_is_answered_as_the_success_it_was() {
    let (env, prefix, token) = setup("stall-session").await;
    let before = injected(&prefix).await;
    let app = stalling(&env, &prefix, "PutItem").await;
    let answer = env
        .call_encoded_on(
            &app,
            env.route(routes::SESSIONS_CREATE),
            &json!({ "token": token }),
        )
        .await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(injected_since(&prefix, &before, "stalls").await, 1);
    let session = answer.session()["token"].as_str().unwrap();
    let shown = env
        .call(
            env.route(routes::SESSIONS_SHOW),
            &json!({ "token": session }),
        )
        .await;
    assert_status(&shown, "action-successful", 200);
}

#[tokio::test]
async fn a_stalled_transaction_that_applied_is_answered_as_the_success_it_was() {
    let (env, prefix, token) = setup("stall-transaction").await;
    let before = injected(&prefix).await;
    let app = stalling(&env, &prefix, "TransactWriteItems").await;
    let params = photographer(&env, &token);
    let answer = env
        .call_encoded_on(&app, env.route(routes::PHOTOGRAPHERS_CREATE), &params)
        .await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(injected_since(&prefix, &before, "stalls").await, 1);
    // The retry carried the first attempt's ClientRequestToken and heard its success.
    assert!(injected_since(&prefix, &before, "token_replays").await >= 1);
    let owner = env
        .app
        .db
        .emails()
        .owner(&params["email"].as_str().unwrap().to_lowercase())
        .await
        .unwrap();
    assert_eq!(owner, answer.data()["id"].as_i64());
    env.assert_nothing_half_written().await;
}

#[tokio::test]
async fn a_stalled_counter_update_counts_once() {
    let (env, prefix, token) = setup("stall-counter").await;
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let before = injected(&prefix).await;
    let app = stalling(&env, &prefix, "UpdateItem").await;
    let wrong = json!({"token": token, "email": employee.email, "password": "not-the-Password-1"});
    let answer = env
        .call_encoded_on(&app, env.route(routes::SESSIONS_CREATE), &wrong)
        .await;
    assert_status(&answer, "invalid-param", 400);
    assert_eq!(injected_since(&prefix, &before, "stalls").await, 1);
    let throttles = password_throttles(
        Person::Account(employee.id),
        &Origin::server(&env.source_ip),
        &Limits::PASSWORDS,
    );
    let counts = env.app.db.throttles().counts(&throttles, env.now()).await;
    assert_eq!(counts.unwrap(), [1, 1], "one failure, counted once");
}

#[tokio::test]
async fn conflicts_are_retried_and_never_reach_the_log_as_crashes() {
    let logs = planoauth_tests::capture_logs();
    let (env, prefix, token) = setup("conflict-log").await;
    set_faults(&prefix, json!({ "transaction_ms": 40 })).await;
    let email = env.unique_email("contested");
    let attempts: Vec<Value> = (0..6)
        .map(|_| with(photographer(&env, &token), json!({ "email": email })))
        .collect();
    let answers = futures_util::future::join_all(
        attempts
            .iter()
            .map(|p| env.call_encoded(env.route(routes::PHOTOGRAPHERS_CREATE), p)),
    )
    .await;
    assert_no_server_errors(&answers);
    let written = logs.contents();
    assert!(
        !written.contains("application-crash") && !written.contains("counter is behind"),
        "{written}"
    );
    // Nothing secret was logged on the way.
    assert!(!written.contains(PASSWORD) && !written.contains(&token));
    assert!(!written.contains(&tokens::hash(&token)));
}

/// Sign-ins racing the deactivation of their employee, staggered so that some verify the
/// password before it lands and write their session after: whatever the order, none of
/// the sessions they open may work once both are done.
#[tokio::test]
async fn no_session_survives_a_deactivation_that_races_sign_ins() {
    let (env, prefix, token) = setup("deactivation-race").await;
    set_faults(&prefix, json!({ "transaction_ms": 20 })).await;
    let mut tallies = std::collections::BTreeMap::<String, usize>::new();
    for _round in 0..3 {
        let employee = env
            .employee_with_password(&[(PlanoAuth, "manager")], Some(PASSWORD))
            .await;
        let credentials = json!({ "token": token, "email": employee.email, "password": PASSWORD });
        // The deactivation starts once the first sign-in has answered, while the others
        // are at every stage of theirs.
        let first_answered = tokio::sync::Notify::new();
        let sign_ins = (0..24).map(|i| {
            let (env, credentials, first_answered) = (&env, &credentials, &first_answered);
            async move {
                tokio::time::sleep(Duration::from_millis(8 * i)).await;
                let answer = env
                    .call_encoded(env.route(routes::SESSIONS_CREATE), credentials)
                    .await;
                first_answered.notify_one();
                answer
            }
        });
        let deactivation = async {
            first_answered.notified().await;
            let params = json!({
                "token": token, "id": employee.id, "email": employee.email, "active": false
            });
            env.call(env.route(routes::EMPLOYEES_UPDATE), &params).await
        };
        let (answers, deactivated) =
            tokio::join!(futures_util::future::join_all(sign_ins), deactivation);
        assert_status(&deactivated, "action-successful", 200);
        assert_no_server_errors(&answers);
        for answer in &answers {
            *tallies.entry(answer.status().to_owned()).or_default() += 1;
            if answer.status() != "action-successful" {
                assert_status(answer, "permission-denied", 403);
                continue;
            }
            let session = answer.session()["token"].as_str().unwrap();
            let show = json!({ "token": session, "session_view": "internalapps_view" });
            let shown = env.call(env.route(routes::SESSIONS_SHOW), &show).await;
            assert_status(&shown, "invalid-token", 401);
        }
        let sessions = env.scan(&env.app.db.tables.sessions).await;
        let left = sessions
            .iter()
            .filter(|item| item.get("user_id") == Some(&planoauth::store::number(employee.id)))
            .count();
        assert_eq!(left, 0, "sessions of the deactivated employee are stored");
    }
    // Both sides of the race happened: some sign-ins finished first, some after.
    eprintln!("sign-ins racing deactivations: {tallies:?}");
    assert!(
        tallies.contains_key("permission-denied") && tallies.contains_key("action-successful"),
        "{tallies:?}"
    );
}
