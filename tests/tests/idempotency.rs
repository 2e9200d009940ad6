//! `Idempotency-Key` on the creates (`photographers/create`, `sessions/create`,
//! `users/client_register`): a repeated request answers what the first did, without the
//! work being done twice; the same key for another request is refused.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use photographers_create::PhotographersCreate;
use planoauth::domain::Application::PlanoAuth;
use planoauth::mail::Mailer;
use planoauth::routes;
use planoauth::tokens;
use planoauth_tests::{
    Answer, TestEnv, assert_no_server_errors, assert_status, encoded, injected, injected_since,
    links, set_faults, with,
};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "copper-Fjord-73-lantern";
const HOUR: i64 = 60 * 60;

/// An application token that may call the three creates.
async fn creates_token(env: &TestEnv) -> String {
    env.application_token(
        PlanoAuth,
        &[
            "photographers.create",
            "sessions.create",
            "clients.register",
        ],
    )
    .await
}

async fn setup() -> (TestEnv, String) {
    let env = TestEnv::new().await;
    let token = creates_token(&env).await;
    (env, token)
}

fn photographer(env: &TestEnv, token: &str) -> Value {
    json!({
        "token": token,
        "email": env.unique_email("keyed"),
        "first_name": "Vivian",
        "last_name": "Maier",
        "password": PASSWORD,
        "phone": "+1 555 010 6000",
    })
}

fn client(env: &TestEnv, token: &str) -> Value {
    json!({
        "token": token,
        "email": env.unique_email("keyed-client"),
        "password": PASSWORD,
        "first_name": "Gordon",
        "last_name": "Parks",
        "phone": "+1 555 010 7000",
    })
}

fn new_key() -> String {
    format!("key-{}", tokens::random_id())
}

async fn create(env: &TestEnv, params: &Value, key: &str) -> Answer {
    env.call_encoded_with_key(env.route(routes::PHOTOGRAPHERS_CREATE), params, key)
        .await
}

#[tokio::test]
async fn a_repeated_create_answers_the_first_answer_and_creates_nothing() {
    let (env, token) = setup().await;
    let params = photographer(&env, &token);
    let key = new_key();
    let first = create(&env, &params, &key).await;
    assert_status(&first, "action-successful", 200);
    assert!(!first.replayed);
    // The same request, its fields in another order, its token in the header.
    let mut reordered: serde_json::Map<String, Value> = serde_json::Map::new();
    for (name, value) in params.as_object().unwrap().iter().rev() {
        if name != "token" {
            reordered.insert(name.clone(), value.clone());
        }
    }
    let body = encoded(&Value::Object(reordered));
    let auth = format!("Bearer {token}");
    let again = env
        .call_with(
            &env.app,
            env.route(routes::PHOTOGRAPHERS_CREATE),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", &key),
                ("authorization", &auth),
            ],
            body.as_bytes(),
        )
        .await;
    assert_status(&again, "action-successful", 200);
    assert!(again.replayed);
    assert_eq!(again.data(), first.data());
    let email = params["email"].as_str().unwrap();
    assert_eq!(env.sent_emails(email).await.len(), 1, "one welcome email");
}

#[tokio::test]
async fn the_same_key_for_another_request_is_refused() {
    let (env, token) = setup().await;
    let params = photographer(&env, &token);
    let key = new_key();
    assert_status(&create(&env, &params, &key).await, "action-successful", 200);
    for other in [
        with(params.clone(), json!({"first_name": "Dorothea"})),
        with(
            params.clone(),
            json!({"password": "another-Secret-88-mesa"}),
        ),
        with(params.clone(), json!({"password": null})),
        with(photographer(&env, &token), json!({})),
    ] {
        let answer = create(&env, &other, &key).await;
        assert_status(&answer, "invalid-param", 400);
        assert!(
            answer.message().contains("`Idempotency-Key`"),
            "{}",
            answer.body
        );
        assert!(!answer.replayed, "a refusal is not a replay");
    }
}

#[tokio::test]
async fn a_key_belongs_to_its_caller_and_lasts_a_day() {
    let (env, token) = setup().await;
    let other_token = env
        .application_token(PlanoAuth, &["photographers.create"])
        .await;
    let params = photographer(&env, &token);
    let key = new_key();
    assert_status(&create(&env, &params, &key).await, "action-successful", 200);
    // Another caller's request with the same key is a request of its own: the address
    // is taken by then.
    let theirs = create(
        &env,
        &with(params.clone(), json!({"token": other_token})),
        &key,
    )
    .await;
    assert_status(&theirs, "invalid-param", 400);
    assert!(theirs.message().contains("`email`"));
    // A day later the key is forgotten, and the request is made again.
    env.advance(24 * HOUR + 1);
    let later = create(&env, &params, &key).await;
    assert_status(&later, "invalid-param", 400);
    assert!(later.message().contains("`email`") && !later.replayed);
}

#[tokio::test]
async fn a_refused_request_leaves_its_key_free() {
    let (env, token) = setup().await;
    let key = new_key();
    let weak = with(photographer(&env, &token), json!({"password": "short"}));
    assert_status(&create(&env, &weak, &key).await, "invalid-param", 400);
    let fixed = with(weak, json!({"password": PASSWORD}));
    let answer = create(&env, &fixed, &key).await;
    assert_status(&answer, "action-successful", 200);
    assert!(!answer.replayed);
}

#[tokio::test]
async fn a_malformed_key_is_refused_and_other_routes_ignore_the_header() {
    let (env, token) = setup().await;
    for key in ["has space", &"k".repeat(256), "tab\tkey"] {
        let answer = create(&env, &photographer(&env, &token), key).await;
        assert_status(&answer, "invalid-param", 400);
        assert!(answer.message().contains("`Idempotency-Key`"));
    }
    let session = env.guest_session().await;
    let body = json!({ "token": session }).to_string();
    for _ in 0..2 {
        let shown = env
            .call_with(
                &env.app,
                env.route(routes::SESSIONS_SHOW),
                &[
                    ("content-type", "application/json"),
                    ("idempotency-key", "k1"),
                ],
                body.as_bytes(),
            )
            .await;
        assert_status(&shown, "action-successful", 200);
        assert!(!shown.replayed);
    }
}

#[tokio::test]
async fn racing_requests_with_one_key_create_one_photographer() {
    let (env, token) = setup().await;
    let params = photographer(&env, &token);
    let key = new_key();
    let answers = futures_util::future::join_all((0..8).map(|_| create(&env, &params, &key))).await;
    assert_no_server_errors(&answers);
    for answer in &answers {
        assert_status(answer, "action-successful", 200);
        assert_eq!(answer.data()["id"], answers[0].data()["id"]);
    }
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1);
    let email = params["email"].as_str().unwrap();
    assert_eq!(env.sent_emails(email).await.len(), 1);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_answered_when_repeated() {
    let name = "idempotency-lost-answer";
    let env = TestEnv::isolated(name).await;
    let prefix = env.prefix.clone();
    let token = env
        .application_token(PlanoAuth, &["photographers.create"])
        .await;
    let params = photographer(&env, &token);
    let key = new_key();
    // The transaction applies, and its answer is held until the client has given up.
    set_faults(
        &prefix,
        json!({"stall_ms": 3000, "stall_next": {"operation": "TransactWriteItems", "count": 1}}),
    )
    .await;
    let before = injected(&prefix).await;
    let lost = tokio::time::timeout(Duration::from_millis(1500), create(&env, &params, &key)).await;
    assert!(lost.is_err(), "the first answer was to be lost");
    assert_eq!(injected_since(&prefix, &before, "stalls").await, 1);

    let again = create(&env, &params, &key).await;
    assert_status(&again, "action-successful", 200);
    assert!(again.replayed);
    let email = params["email"].as_str().unwrap();
    let owner = env
        .app
        .db
        .emails()
        .owner(&email.to_lowercase())
        .await
        .unwrap();
    assert_eq!(owner, again.data()["id"].as_i64());
    assert_eq!(env.scan(&env.app.db.tables.employees).await.len(), 1);
    env.assert_nothing_half_written().await;
}

#[tokio::test]
async fn a_failed_welcome_email_is_answered_again_without_another_try() {
    let (env, token) = setup().await;
    let unverified = PhotographersCreate {
        mailer: Mailer::new(env.ses.clone(), "unverified@planoauth.test", links()),
    };
    let params = photographer(&env, &token);
    let key = new_key();
    let first = env.call_encoded_with_key(&unverified, &params, &key).await;
    assert_status(&first, "email-send-failed", 500);
    let again = env.call_encoded_with_key(&unverified, &params, &key).await;
    assert_status(&again, "email-send-failed", 500);
    assert!(again.replayed);
    assert_eq!(again.data(), first.data());
}

async fn sign_in(env: &TestEnv, params: &Value, key: &str) -> Answer {
    env.call_encoded_with_key(env.route(routes::SESSIONS_CREATE), params, key)
        .await
}

#[tokio::test]
async fn a_repeated_sign_in_answers_the_same_session_under_a_new_token() {
    let (env, token) = setup().await;
    let user = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let params = json!({"token": token, "email": user.email, "password": PASSWORD});
    let key = new_key();
    let first = sign_in(&env, &params, &key).await;
    assert_status(&first, "action-successful", 200);
    let again = sign_in(&env, &params, &key).await;
    assert_status(&again, "action-successful", 200);
    assert!(again.replayed);
    assert_eq!(again.session()["id"], first.session()["id"]);
    let (old, new) = (
        first.session()["token"].as_str().unwrap(),
        again.session()["token"].as_str().unwrap(),
    );
    assert_ne!(old, new);
    let shown = |session: &str| json!({"token": session});
    let show = env.route(routes::SESSIONS_SHOW);
    assert_status(&env.call(show, &shown(old)).await, "invalid-token", 401);
    assert_status(&env.call(show, &shown(new)).await, "action-successful", 200);

    // The password is checked again; a wrong one is refused as any wrong password is.
    let wrong = with(
        params.clone(),
        json!({"password": "another-Secret-88-mesa"}),
    );
    assert_status(&sign_in(&env, &wrong, &key).await, "invalid-param", 400);

    // Once signed out, the key's session is gone, and so is its answer.
    env.call(env.route(routes::SESSIONS_DELETE), &json!({"token": new}))
        .await;
    let ended = sign_in(&env, &params, &key).await;
    assert_status(&ended, "invalid-param", 400);
    assert!(ended.message().contains("`Idempotency-Key`"));
}

#[tokio::test]
async fn a_repeated_guest_session_is_the_same_session() {
    let (env, token) = setup().await;
    let key = new_key();
    let params = json!({"token": token});
    let first = sign_in(&env, &params, &key).await;
    let again = sign_in(&env, &params, &key).await;
    assert_status(&again, "action-successful", 200);
    assert_eq!(again.session()["id"], first.session()["id"]);
    assert_eq!(again.session()["user_id"], Value::Null);
}

#[tokio::test]
async fn a_repeated_registration_answers_the_same_client() {
    let (env, token) = setup().await;
    let key = new_key();
    // From a guest session: the repeat comes with the session, which is the client's now.
    let guest = sign_in(&env, &json!({"token": token}), &new_key()).await;
    let guest = guest.session()["token"].as_str().unwrap().to_owned();
    let params = client(&env, &guest);
    let register = |params: Value| {
        let env = &env;
        let key = key.clone();
        async move {
            env.call_encoded_with_key(env.route(routes::USERS_CLIENT_REGISTER), &params, &key)
                .await
        }
    };
    let first = register(params.clone()).await;
    assert_status(&first, "action-successful", 200);
    let again = register(params.clone()).await;
    assert_status(&again, "action-successful", 200);
    assert!(again.replayed);
    assert_eq!(again.data(), first.data());
    assert_eq!(again.session()["user_id"], first.data()["id"]);
    // Directly, with the application's token.
    let direct = client(&env, &token);
    let key = new_key();
    let answers = [
        env.call_encoded_with_key(env.route(routes::USERS_CLIENT_REGISTER), &direct, &key)
            .await,
        env.call_encoded_with_key(env.route(routes::USERS_CLIENT_REGISTER), &direct, &key)
            .await,
    ];
    assert_eq!(answers[0].data()["id"], answers[1].data()["id"]);
    assert!(answers[1].replayed);
}

#[tokio::test]
async fn a_key_record_holds_no_secret() {
    let name = "idempotency-secrets";
    let env = TestEnv::isolated(name).await;
    let token = creates_token(&env).await;
    let user = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let signed_in = sign_in(
        &env,
        &json!({"token": token, "email": user.email, "password": PASSWORD}),
        &new_key(),
    )
    .await;
    let session = signed_in.session()["token"].as_str().unwrap().to_owned();
    create(&env, &photographer(&env, &token), &new_key()).await;
    env.call_encoded_with_key(
        env.route(routes::USERS_CLIENT_REGISTER),
        &client(&env, &token),
        &new_key(),
    )
    .await;
    let records = env.scan(&env.app.db.tables.idempotency).await;
    assert_eq!(records.len(), 3);
    let stored = format!("{records:?}");
    for secret in [PASSWORD, token.as_str(), session.as_str()] {
        assert!(!stored.contains(secret), "a secret is stored");
    }
    assert!(
        stored.contains(&tokens::hash(&session)),
        "the session is kept as its hash"
    );
}

#[tokio::test]
async fn a_registrations_fingerprint_leaves_the_current_password_out() {
    let (env, _) = setup().await;
    let user = env
        .user_without_records_signing_in_with(Some(PASSWORD))
        .await;
    let session = env.session(user, PlanoAuth, false).await;
    let params = with(
        client(&env, &session),
        json!({ "current_password": PASSWORD, "password": "azure-Willow-83-canyon" }),
    );
    let key = new_key();
    let route = env.route(routes::USERS_CLIENT_REGISTER);
    let first = env.call_encoded_with_key(route, &params, &key).await;
    assert_status(&first, "action-successful", 200);
    // A repeat is recognised without the current password (which the record never held,
    // even hashed with the rest); it proves the new one, the account's now.
    let without = with(
        params.clone(),
        json!({ "current_password": "not-what-was-sent-1" }),
    );
    let again = env.call_encoded_with_key(route, &without, &key).await;
    assert_status(&again, "action-successful", 200);
    assert!(again.replayed);
    assert_eq!(again.data(), first.data());
}
