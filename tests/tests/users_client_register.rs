//! `POST /api/v1/users/client_register`: a guest (or a user told `client-required`)
//! becomes a client, or an application registers one directly.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::{self, PlanoAuth};
use planoauth::domain::{AuditAction, Profile};
use planoauth::routes;
use planoauth_admin::operator::operator_audit;
use planoauth_tests::{
    Answer, TestEnv, assert_one_won_the_address, assert_status, assert_the_race_met_conflicts,
    injected, race_faults, set_faults, with,
};
use serde_json::{Value, json};

const PASSWORD: &str = "amber-Kettle-47-orchard";

async fn setup() -> (TestEnv, String) {
    let env = TestEnv::new().await;
    let sign_in_token = env
        .application_token(PlanoAuth, &["sessions.create", "clients.register"])
        .await;
    (env, sign_in_token)
}

fn client(env: &TestEnv, token: &str) -> Value {
    json!({
        "token": token,
        "email": env.unique_email("client"),
        "password": PASSWORD,
        "first_name": "Ansel",
        "last_name": "Adams",
        "phone": "+1 555 010 3000",
        "company": "Half Dome Realty",
    })
}

async fn register(env: &TestEnv, params: &Value) -> Answer {
    env.call_encoded(env.route(routes::USERS_CLIENT_REGISTER), params)
        .await
}

async fn guest_session(env: &TestEnv, app_token: &str) -> String {
    let answer = env
        .call_encoded(
            env.route(routes::SESSIONS_CREATE),
            &json!({ "token": app_token }),
        )
        .await;
    answer.session()["token"]
        .as_str()
        .expect("a guest session")
        .to_owned()
}

#[tokio::test]
async fn a_guest_session_is_replaced_by_a_client_session_with_a_new_token() {
    let (env, app_token) = setup().await;
    let guest = guest_session(&env, &app_token).await;
    let someone = env.employee(&[]).await;
    let update = json!({ "token": guest, "id": someone.id, "email": someone.email });
    assert_status(
        &env.call(env.route(routes::EMPLOYEES_UPDATE), &update).await,
        "client-required",
        401,
    );

    let params = client(&env, &guest);
    let registered = register(&env, &params).await;
    assert_status(&registered, "action-successful", 200);
    let id = registered.data()["id"].as_i64().unwrap();
    assert_eq!(registered.data()["company"], "Half Dome Realty");
    assert_eq!(registered.session()["user_id"], id);

    // The registration replaced the guest's session: whoever held the guest's token
    // does not hold the client's account.
    let client_token = registered.session()["token"].as_str().unwrap().to_owned();
    assert_ne!(client_token, guest);
    assert_status(
        &env.call(env.route(routes::SESSIONS_SHOW), &json!({ "token": guest }))
            .await,
        "invalid-token",
        401,
    );
    // The new token acts for a client: authenticated, with a client's permissions.
    let as_client = json!({ "token": client_token, "id": someone.id, "email": someone.email });
    assert_status(
        &env.call(env.route(routes::EMPLOYEES_UPDATE), &as_client)
            .await,
        "permission-denied",
        403,
    );
    let shown = env
        .call(
            env.route(routes::SESSIONS_SHOW),
            &json!({ "token": client_token, "session_view": "internalapps_view" }),
        )
        .await;
    assert_eq!(shown.session()["profiles"], json!(["client"]));
    assert_eq!(shown.session()["user_id"], id);

    let stored = env.app.db.clients().find(id).await.unwrap().unwrap();
    assert_eq!(stored.email, params["email"].as_str().unwrap());

    // And the new client can sign in.
    let signed_in = env
        .call_encoded(
            env.route(routes::SESSIONS_CREATE),
            &json!({ "token": app_token, "email": params["email"], "password": PASSWORD }),
        )
        .await;
    assert_status(&signed_in, "action-successful", 200);
    assert_eq!(signed_in.session()["user_id"], id);
}

#[tokio::test]
async fn an_application_registers_a_client_directly() {
    let (env, app_token) = setup().await;
    let answer = register(
        &env,
        &with(
            client(&env, &app_token),
            json!({ "view": "internalapps_view" }),
        ),
    )
    .await;
    assert_status(&answer, "action-successful", 200);
    assert!(answer.body.get("session").is_none());
    assert!(answer.data()["created_at"].is_string());
    let id = answer.data()["id"].as_i64().unwrap();
    assert!(env.app.db.clients().find(id).await.unwrap().is_some());
}

#[tokio::test]
async fn a_user_without_records_gets_a_client_record_on_their_account() {
    let (env, _) = setup().await;
    let user = env.user_without_records().await;
    let audit = operator_audit(env.now(), AuditAction::RoleGranted, user);
    let granted = planoauth::use_cases::grant_role(
        &env.app,
        user,
        Application::PlanoOrder,
        "manager",
        &audit,
    );
    assert!(granted.await.unwrap());
    let session = env.session(user, PlanoAuth, false).await;
    let answer = register(&env, &client(&env, &session)).await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.data()["id"], user);
    assert_eq!(answer.session()["user_id"], user);
    assert!(answer.session()["token"].is_string(), "a new token");
    let old = json!({ "token": session });
    assert_status(
        &env.call(env.route(routes::SESSIONS_SHOW), &old).await,
        "invalid-token",
        401,
    );
    // Registering makes the account a client's in every application, whatever role it
    // held, and the session acts with exactly that from then on.
    let account = env.app.db.users().account(user).await.unwrap().unwrap();
    assert_eq!(account.roles.len(), Application::ALL.len());
    assert!(account.roles.values().all(|role| role == "client"));
    assert_eq!(account.profiles, [Profile::Client]);
}

/// Signs in as the client a registration made, with `password`.
async fn signs_in(env: &TestEnv, email: &Value, password: &str) -> bool {
    let token = env.application_token(PlanoAuth, &["sessions.create"]).await;
    let credentials = json!({ "token": token, "email": email, "password": password });
    env.call_encoded(env.route(routes::SESSIONS_CREATE), &credentials)
        .await
        .status()
        == "action-successful"
}

#[tokio::test]
async fn an_account_with_a_password_takes_it_as_proof_before_it_changes() {
    let (env, _) = setup().await;
    let old_password = "copper-Lantern-28-meadow";
    let user = env
        .user_without_records_signing_in_with(Some(old_password))
        .await;
    let session = env.session(user, PlanoAuth, false).await;
    let elsewhere = env.session(user, PlanoAuth, false).await;
    let params = client(&env, &session);

    let missing = register(&env, &params).await;
    assert_status(&missing, "missing-param", 400);
    assert!(
        missing.message().contains("`current_password`"),
        "{}",
        missing.body
    );
    let wrong = register(
        &env,
        &with(
            params.clone(),
            json!({ "current_password": "not-the-Password-9" }),
        ),
    )
    .await;
    assert_status(&wrong, "invalid-param", 400);
    assert!(
        wrong.message().contains("`current_password`"),
        "{}",
        wrong.body
    );
    // Refused twice, the account is as it was: no record, the old password.
    let account = env.app.db.users().account(user).await.unwrap().unwrap();
    assert!(account.profiles.is_empty());
    let stored = account.password_hash.unwrap();
    assert!(planoauth::passwords::verify(old_password, &stored));

    let proven = register(
        &env,
        &with(params.clone(), json!({ "current_password": old_password })),
    )
    .await;
    assert_status(&proven, "action-successful", 200);
    assert!(signs_in(&env, &params["email"], PASSWORD).await);
    assert!(!signs_in(&env, &params["email"], old_password).await);
    // The session opened with the old password elsewhere ended; the new one acts.
    let show = |token: String| {
        let env = &env;
        async move {
            env.call(env.route(routes::SESSIONS_SHOW), &json!({ "token": token }))
                .await
        }
    };
    assert_status(&show(elsewhere).await, "invalid-token", 401);
    let renewed = proven.session()["token"].as_str().unwrap().to_owned();
    assert_status(&show(renewed).await, "action-successful", 200);
}

#[tokio::test]
async fn wrong_current_passwords_count_against_the_account_and_source() {
    let (env, _) = setup().await;
    let user = env
        .user_without_records_signing_in_with(Some("copper-Lantern-28-meadow"))
        .await;
    let session = env.session(user, PlanoAuth, false).await;
    let params = with(
        client(&env, &session),
        json!({ "current_password": "not-the-Password-9" }),
    );
    assert_status(&register(&env, &params).await, "invalid-param", 400);
    let throttles = planoauth::attempts::password_throttles(
        planoauth::attempts::Person::Account(user),
        &planoauth::domain::Origin::direct(&env.source_ip),
        &planoauth::domain::Limits::PASSWORDS,
    );
    let counts = env.app.db.throttles().counts(&throttles, env.now()).await;
    assert_eq!(counts.unwrap(), [1, 1]);
}

#[tokio::test]
async fn a_user_with_a_record_cannot_register_again() {
    let (env, _) = setup().await;
    let employee = env.employee(&[(PlanoAuth, "staff")]).await;
    let session = env.session(employee.id, PlanoAuth, false).await;
    assert_status(
        &register(&env, &client(&env, &session)).await,
        "permission-denied",
        403,
    );
}

#[tokio::test]
async fn an_email_in_use_is_refused_and_nothing_is_written() {
    let (env, app_token) = setup().await;
    let guest = guest_session(&env, &app_token).await;
    let taken = env.employee(&[]).await.email;
    let answer = register(
        &env,
        &with(
            client(&env, &guest),
            json!({ "email": taken.to_uppercase() }),
        ),
    )
    .await;
    assert_status(&answer, "invalid-param", 400);
    assert!(answer.message().contains("`email`"));
    // The guest session was not changed.
    let shown = env
        .call(env.route(routes::SESSIONS_SHOW), &json!({ "token": guest }))
        .await;
    assert_eq!(shown.session()["user_id"], Value::Null);
}

#[tokio::test]
async fn twenty_racing_registrations_of_one_email_make_one_client() {
    let name = "race-clients-one-email";
    let env = TestEnv::isolated(name).await;
    let prefix = env.prefix.clone();
    // Held long enough that the racers, who hash their passwords at the same time, meet.
    set_faults(&prefix, race_faults(1000)).await;
    let before = injected(&prefix).await;
    let app_token = env
        .application_token(PlanoAuth, &["sessions.create", "clients.register"])
        .await;
    let email = env.unique_email("contested");
    // Half register directly with the application's token, half from guest sessions.
    let mut attempts = Vec::new();
    for i in 0..20 {
        let cased = if i % 2 == 0 {
            email.to_uppercase()
        } else {
            email.clone()
        };
        let token = if i % 4 < 2 {
            app_token.clone()
        } else {
            guest_session(&env, &app_token).await
        };
        attempts.push(with(client(&env, &token), json!({ "email": cased })));
    }
    let answers = futures_util::future::join_all(attempts.iter().map(|p| register(&env, p))).await;
    assert_eq!(answers.len(), 20);
    assert_one_won_the_address(&answers);
    assert_the_race_met_conflicts(&prefix, &before).await;
    env.assert_nothing_half_written().await;
}

#[tokio::test]
async fn parameters_are_checked() {
    let (env, app_token) = setup().await;
    for param in ["email", "password", "first_name", "last_name", "phone"] {
        let answer = register(
            &env,
            &with(client(&env, &app_token), json!({ param: null })),
        )
        .await;
        assert_status(&answer, "missing-param", 400);
        assert!(answer.message().contains(&format!("`{param}`")));
    }
    for (extra, param) in [
        (json!({ "email": "ansel@" }), "email"),
        (json!({ "password": "short" }), "password"),
        (json!({ "phone": "n/a" }), "phone"),
        (json!({ "language": "xx" }), "language"),
        (json!({ "company": "" }), "company"),
        (json!({ "role": "admin" }), "role"),
    ] {
        let answer = register(&env, &with(client(&env, &app_token), extra)).await;
        assert_status(&answer, "invalid-param", 400);
        assert!(
            answer.message().contains(&format!("`{param}`")),
            "{}",
            answer.message()
        );
    }
    let plain = client(&env, &app_token).to_string();
    let answer = env
        .call_with(
            &env.app,
            env.route(routes::USERS_CLIENT_REGISTER),
            &[("content-type", "application/json")],
            plain.as_bytes(),
        )
        .await;
    assert_status(&answer, "invalid-encoded-params", 400);
}

#[tokio::test]
async fn an_application_token_needs_the_permission() {
    let (env, _) = setup().await;
    let without = env.application_token(PlanoAuth, &["sessions.create"]).await;
    assert_status(
        &register(&env, &client(&env, &without)).await,
        "permission-denied",
        403,
    );
}
