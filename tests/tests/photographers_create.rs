//! `POST /api/v1/photographers/create`, against the local DynamoDB and SES, through the
//! entry point Lambda calls.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use photographers_create::PhotographersCreate;
use planoauth::domain::Application::PlanoAuth;
use planoauth::mail::Mailer;
use planoauth::routes;
use planoauth_tests::{
    Answer, SENDER, SIGN_IN_URL, TestEnv, assert_no_server_errors, assert_one_won_the_address,
    assert_status, assert_the_race_met_conflicts, capture_logs, injected, injected_since, links,
    race_faults, set_faults, with,
};
use serde_json::{Value, json};
use std::collections::HashSet;

const PASSWORD: &str = "violet-Tide-91-harbor";

async fn setup() -> (TestEnv, String) {
    let env = TestEnv::new().await;
    let token = env
        .application_token(PlanoAuth, &["photographers.create"])
        .await;
    (env, token)
}

/// The parameters of a valid photographer, with a fresh email address.
fn photographer(env: &TestEnv, token: &str) -> Value {
    json!({
        "token": token,
        "email": env.unique_email("photographer"),
        "first_name": "Dorothea",
        "last_name": "Lange",
        "password": PASSWORD,
        "phone": "+1 (555) 010-2000",
    })
}

async fn create(env: &TestEnv, params: &Value) -> Answer {
    env.call_encoded(env.route(routes::PHOTOGRAPHERS_CREATE), params)
        .await
}

#[tokio::test]
async fn creates_a_photographer_that_can_be_read_back() {
    let (env, token) = setup().await;
    let params = with(
        photographer(&env, &token),
        json!({"extension": 204, "service_area_id": 2, "language": "ES", "department": "photography", "designation_id": 1}),
    );
    let answer = create(&env, &params).await;
    assert_status(&answer, "action-successful", 200);
    let id = answer.data()["id"].as_i64().unwrap();

    let stored = env.app.db.employees().find(id).await.unwrap().unwrap();
    assert_eq!(stored.email, params["email"].as_str().unwrap());
    assert!(stored.photographer && stored.active);
    assert_eq!(stored.first_name.as_deref(), Some("Dorothea"));
    assert_eq!(stored.phone.as_deref(), Some("+1 (555) 010-2000"));
    assert_eq!(
        (
            stored.extension,
            stored.service_area_id,
            stored.designation_id
        ),
        (Some(204), Some(2), Some(1))
    );
    assert_eq!(stored.department.as_deref(), Some("photography"));
    assert_eq!(stored.language.as_deref(), Some("es"));
}

#[tokio::test]
async fn language_defaults_to_english() {
    let (env, token) = setup().await;
    let answer = create(
        &env,
        &with(
            photographer(&env, &token),
            json!({"view": "internalapps_view"}),
        ),
    )
    .await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.data()["language"], "en");
}

#[tokio::test]
async fn the_password_is_stored_only_as_an_argon2id_hash() {
    let (env, token) = setup().await;
    let answer = create(&env, &photographer(&env, &token)).await;
    let id = answer.data()["id"].as_i64().unwrap();
    let user = env
        .app
        .db
        .client
        .get_item()
        .table_name(&env.app.db.tables.users)
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::N(id.to_string()),
        )
        .send()
        .await
        .unwrap();
    let item = user.item().unwrap();
    let hash = item["password_hash"].as_s().unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(planoauth::passwords::verify(PASSWORD, hash));
    assert!(!format!("{item:?}").contains(PASSWORD));
}

#[tokio::test]
async fn the_welcome_email_names_the_photographer_and_the_sign_in_page() {
    let (env, token) = setup().await;
    let params = photographer(&env, &token);
    let email = params["email"].as_str().unwrap();
    assert_status(&create(&env, &params).await, "action-successful", 200);

    let sent = env.sent_emails(email).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let message = &sent[0];
    assert_eq!(message["source"], SENDER);
    assert!(message["subject"].as_str().unwrap().contains("Dorothea"));
    let body = message["body"].as_str().unwrap();
    assert!(body.contains("Dorothea Lange"), "{body}");
    assert!(body.contains(SIGN_IN_URL), "{body}");
    assert!(
        !message.to_string().contains(PASSWORD),
        "the email never holds the password"
    );
}

#[tokio::test]
async fn views_show_internal_fields_only_to_internal_apps_and_never_the_password() {
    let (env, token) = setup().await;
    let params = with(
        photographer(&env, &token),
        json!({"extension": 12, "department": "editing"}),
    );
    let default = create(&env, &params).await;
    let data = default.data().as_object().unwrap();
    assert!(data.contains_key("email") && data.contains_key("first_name"));
    assert!(!data.contains_key("extension") && !data.contains_key("department"));

    let internal = create(
        &env,
        &with(
            params.clone(),
            json!({"email": env.unique_email("internal"), "view": "internalapps_view"}),
        ),
    )
    .await;
    assert_eq!(internal.data()["extension"], 12);
    assert_eq!(internal.data()["department"], "editing");
    for answer in [&default, &internal] {
        let text = answer.body.to_string();
        assert!(!text.contains(PASSWORD) && !text.contains("argon2") && !text.contains("password"));
    }
}

#[tokio::test]
async fn each_required_parameter_is_missing_param() {
    let (env, token) = setup().await;
    for param in ["email", "first_name", "last_name", "password", "phone"] {
        let answer = create(
            &env,
            &with(photographer(&env, &token), json!({ param: null })),
        )
        .await;
        assert_status(&answer, "missing-param", 400);
        assert!(
            answer.message().contains(&format!("`{param}`")),
            "{}",
            answer.message()
        );
    }
}

#[tokio::test]
async fn each_rule_is_invalid_param_naming_the_parameter() {
    let (env, token) = setup().await;
    let taken = env.employee(&[]).await.email;
    let cases = [
        (json!({"email": "dorothea@"}), "email", "valid email"),
        (
            json!({"email": taken.to_uppercase()}),
            "email",
            "already used",
        ),
        (json!({"phone": "555-01"}), "phone", "phone number"),
        (json!({"first_name": ""}), "first_name", "blank"),
        (json!({"last_name": 7}), "last_name", "string"),
        (json!({"language": "zz"}), "language", "ISO 639-1"),
        (json!({"extension": "204"}), "extension", "integer"),
        (json!({"extension": 0}), "extension", "positive"),
        (
            json!({"service_area_id": 404}),
            "service_area_id",
            "no service area",
        ),
        (
            json!({"department": "darkroom"}),
            "department",
            "no department",
        ),
        (json!({"department": "Dark Room"}), "department", "slug"),
        (
            json!({"designation_id": 404}),
            "designation_id",
            "no designation",
        ),
        (json!({"password": "short"}), "password", "at least 12"),
        (
            json!({"password": "Password1234"}),
            "password",
            "breached passwords",
        ),
        (
            json!({"password": "aaaaaaaaaaaaaaaa"}),
            "password",
            "different characters",
        ),
        (json!({"view": "full"}), "view", "internalapps_view"),
        (json!({"nickname": "Dot"}), "nickname", "not a parameter"),
    ];
    for (extra, param, reason) in cases {
        let params = with(photographer(&env, &token), extra.clone());
        let answer = create(&env, &params).await;
        assert_status(&answer, "invalid-param", 400);
        assert!(
            answer.message().contains(&format!("`{param}`")) && answer.message().contains(reason),
            "{extra}: {}",
            answer.message()
        );
        assert!(!answer.body.to_string().contains(PASSWORD));
        if param != "email" {
            assert!(
                env.sent_emails(params["email"].as_str().unwrap())
                    .await
                    .is_empty()
            );
        }
    }
}

#[tokio::test]
async fn a_plain_json_body_is_invalid_encoded_params() {
    let (env, token) = setup().await;
    let body = photographer(&env, &token).to_string();
    let answer = env
        .call_with(
            &env.app,
            env.route(routes::PHOTOGRAPHERS_CREATE),
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await;
    assert_status(&answer, "invalid-encoded-params", 400);
}

#[tokio::test]
async fn an_empty_object_is_no_params_decoded() {
    let (env, _) = setup().await;
    for decoded in ["{}", "", "  "] {
        let body = STANDARD.encode(decoded);
        let answer = env
            .call_with(
                &env.app,
                env.route(routes::PHOTOGRAPHERS_CREATE),
                &[("content-type", "application/json")],
                body.as_bytes(),
            )
            .await;
        assert_status(&answer, "no-params-decoded", 400);
    }
}

#[tokio::test]
async fn a_failed_send_keeps_the_photographer_and_notifies_the_team() {
    let (env, token) = setup().await;
    // SES refuses to send from an identity that was never verified.
    let unverified = PhotographersCreate {
        mailer: Mailer::new(env.ses.clone(), "unverified@planoauth.test", links()),
    };
    let params = photographer(&env, &token);
    let answer = env.call_encoded(&unverified, &params).await;
    assert_status(&answer, "email-send-failed", 500);
    let id = answer.data()["id"]
        .as_i64()
        .expect("the created record is in data");
    assert!(env.app.db.employees().find(id).await.unwrap().is_some());

    let notifications = env
        .app
        .db
        .client
        .scan()
        .table_name(&env.app.db.tables.notifications)
        .filter_expression("subject = :subject")
        .expression_attribute_values(
            ":subject",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("employee:{id}")),
        )
        .send()
        .await
        .unwrap();
    let items = notifications.items();
    assert_eq!(items.len(), 1);
    let notification = &items[0];
    assert_eq!(notification["kind"].as_s().unwrap(), "email-send-failed");
    assert_eq!(
        notification["recipient"].as_s().unwrap(),
        params["email"].as_str().unwrap()
    );
    assert!(!notification["detail"].as_s().unwrap().is_empty());
    assert!(notification.contains_key("created_at"));
    assert!(!format!("{notification:?}").contains(PASSWORD));
}

/// How long a transaction that commits holds its items on a racing test's tables: long
/// enough that racing requests (which finish hashing their passwords at about the same
/// time) meet it, and DynamoDB's conflicts (emulated by the local stack) happen.
const RACE_HOLD_MS: u64 = 1000;

async fn racing_env(name: &str) -> (TestEnv, String, String, Value) {
    let env = TestEnv::isolated(name).await;
    let prefix = env.prefix.clone();
    set_faults(&prefix, race_faults(RACE_HOLD_MS)).await;
    let before = injected(&prefix).await;
    let token = env
        .application_token(PlanoAuth, &["photographers.create"])
        .await;
    (env, token, prefix, before)
}

#[tokio::test]
async fn twenty_racing_creates_of_one_email_make_one_photographer() {
    let (env, token, prefix, before) = racing_env("race-photographers-one-email").await;
    let email = env.unique_email("racer");
    let attempts: Vec<Value> = (0..20)
        .map(|i| {
            let cased = if i % 2 == 0 {
                email.to_uppercase()
            } else {
                email.clone()
            };
            with(photographer(&env, &token), json!({"email": cased}))
        })
        .collect();
    let answers =
        futures_util::future::join_all(attempts.iter().map(|params| create(&env, params))).await;
    assert_eq!(answers.len(), 20);
    assert_one_won_the_address(&answers);
    assert_the_race_met_conflicts(&prefix, &before).await;
    env.assert_nothing_half_written().await;
    assert_eq!(
        env.sent_emails(&email).await.len() + env.sent_emails(&email.to_uppercase()).await.len(),
        1
    );
}

#[tokio::test]
async fn fifty_racing_creates_get_fifty_distinct_ids() {
    let (env, token, prefix, before) = racing_env("race-photographers-distinct").await;
    // One service area, department and designation for all: read, not held by every
    // transaction, so distinct creates do not queue behind one another for them.
    let attempts: Vec<Value> = (0..50)
        .map(|_| {
            with(
                photographer(&env, &token),
                json!({"service_area_id": 1, "department": "photography", "designation_id": 1}),
            )
        })
        .collect();
    let answers =
        futures_util::future::join_all(attempts.iter().map(|params| create(&env, params))).await;
    assert_no_server_errors(&answers);
    let ids: HashSet<i64> = answers
        .iter()
        .map(|answer| {
            assert_status(answer, "action-successful", 200);
            answer.data()["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 50);
    assert_eq!(
        injected_since(&prefix, &before, "transaction_conflicts").await,
        0,
        "distinct creates share no item"
    );
    env.assert_nothing_half_written().await;
    assert_eq!(env.scan(&env.app.db.tables.employees).await.len(), 50);
}

#[tokio::test]
async fn a_role_without_the_permission_is_denied() {
    let (env, _) = setup().await;
    let without = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let answer = create(&env, &photographer(&env, &without)).await;
    assert_status(&answer, "permission-denied", 403);

    let manager = env.employee(&[(PlanoAuth, "manager")]).await;
    let session = env.session(manager.id, PlanoAuth, false).await;
    let answer = create(&env, &photographer(&env, &session)).await;
    assert_status(&answer, "permission-denied", 403);
    assert!(answer.session().is_object());

    let admin = env.employee(&[(PlanoAuth, "admin")]).await;
    let session = env.session(admin.id, PlanoAuth, false).await;
    let answer = create(&env, &photographer(&env, &session)).await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.session()["user_id"], admin.id);
}

#[tokio::test]
async fn no_caller_creates_a_photographer_whose_role_holds_more_than_it_does() {
    let env = TestEnv::isolated("photographer-above").await;
    // An operator gave the photographers' role a permission in another application.
    let line = "role put --application planoorder --role staff --permissions employees.update";
    env.admin(line).await.unwrap();
    let token = env
        .application_token(PlanoAuth, &["photographers.create"])
        .await;
    let params = photographer(&env, &token);
    let answer = create(&env, &params).await;
    assert_status(&answer, "permission-denied", 403);
    assert!(answer.message().contains("planoorder"), "{}", answer.body);
    let email = params["email"].as_str().unwrap().to_ascii_lowercase();
    assert_eq!(env.app.db.emails().owner(&email).await.unwrap(), None);
    assert!(
        env.sent_emails(params["email"].as_str().unwrap())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_create_costs_at_most_three_dynamodb_calls() {
    let (env, token) = setup().await;
    let params = with(
        photographer(&env, &token),
        json!({"service_area_id": 1, "department": "photography", "designation_id": 2}),
    );
    // The first request reads the route registry's switches and the reference entries
    // it names, which a process keeps from then on.
    create(
        &env,
        &with(
            photographer(&env, &token),
            json!({"service_area_id": 1, "department": "photography", "designation_id": 2}),
        ),
    )
    .await;
    let before = env.calls.count();
    assert_status(&create(&env, &params).await, "action-successful", 200);
    assert_eq!(env.calls.count() - before, 3);
}

#[tokio::test]
async fn the_password_never_reaches_a_log_line() {
    let logs = capture_logs();
    let (env, token) = setup().await;
    let unverified = PhotographersCreate {
        mailer: Mailer::new(env.ses.clone(), "unverified@planoauth.test", links()),
    };
    let weak = "Password1234";
    create(&env, &photographer(&env, &token)).await;
    env.call_encoded(&unverified, &photographer(&env, &token))
        .await;
    create(
        &env,
        &with(photographer(&env, &token), json!({"password": weak})),
    )
    .await;
    create(
        &env,
        &with(photographer(&env, &token), json!({"password": 12345})),
    )
    .await;

    let written = logs.contents();
    assert!(
        written.contains("email-send-failed"),
        "the requests were logged: {written}"
    );
    assert!(written.contains("welcome email not sent"));
    for secret in [PASSWORD, weak, &token] {
        assert!(!written.contains(secret), "a secret reached the log");
    }
}
