//! What every route shares: the route registry against `template.yaml` and the local
//! API, and the pipeline (decoding, the token, the session shown, authorisation, a
//! handler that panics), through `employees/update`.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::{PlanoAuth, PlanoOrder};
use planoauth::domain::{Application, Employee};
use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::{ApiError, Ctx, Endpoint, Reply, Status};
use planoauth_tests::{
    Answer, TestEnv, assert_status, employee_to_update, template, update_employee,
};
use serde_json::{Value, json};

#[test]
fn the_template_declares_exactly_the_registered_routes() {
    let mut declared: Vec<(String, String, String)> = template()
        .routes()
        .into_iter()
        .map(|route| (route.binary, route.method, route.path))
        .collect();
    declared.sort();
    let mut registered: Vec<(String, String, String)> = routes::ALL
        .iter()
        .map(|route| {
            (
                route.function.to_owned(),
                "POST".to_owned(),
                route.path.to_owned(),
            )
        })
        .collect();
    // Everything else reaches the fallback, which answers route-non-existent.
    registered.push((
        "route-fallback".to_owned(),
        "ANY".to_owned(),
        "$default".to_owned(),
    ));
    registered.sort();
    assert_eq!(declared, registered);
}

#[test]
fn every_function_of_the_template_is_a_workspace_binary() {
    let root = planoauth_tests::repository_root();
    let binaries = template().function_binaries();
    for route in routes::ALL {
        assert!(
            binaries.iter().any(|b| b == route.function),
            "{} is not in template.yaml",
            route.function
        );
    }
    for binary in binaries {
        let main = root.join("functions").join(&binary).join("src/main.rs");
        assert!(main.exists(), "{binary} has no {}", main.display());
    }
}

#[test]
fn the_template_defines_every_table_the_code_uses() {
    let tables: Vec<String> = template()
        .tables()
        .unwrap()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for resource in planoauth::store::tables::Tables::RESOURCES {
        assert!(
            tables.iter().any(|t| t == resource),
            "template.yaml lacks {resource}"
        );
    }
}

/// An endpoint whose handler panics.
struct Panics;

impl Endpoint for Panics {
    const ROUTE: Route = routes::EMPLOYEES_UPDATE;

    async fn handle(&self, _ctx: &Ctx<'_>, _params: Params) -> Result<Reply, ApiError> {
        panic!("a handler bug")
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_application_crash() {
    let env = TestEnv::new().await;
    let token = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let employee = env.employee(&[(PlanoAuth, "staff")]).await;
    let reply = env
        .call(&Panics, &json!({"token": token, "id": employee.id}))
        .await;
    assert_eq!((reply.status(), reply.http), ("application-crash", 500));
    assert_eq!(reply.message(), Status::ApplicationCrash.message());
}

#[test]
fn the_api_reference_lists_every_route_and_every_status_with_its_code() {
    let readme =
        std::fs::read_to_string(planoauth_tests::repository_root().join("docs/api.md")).unwrap();
    for route in routes::ALL {
        let row = format!(
            "| `{}` | `{}` | {} |",
            route.key(),
            route.function,
            route.access.describe()
        );
        assert!(
            readme.contains(&row),
            "docs/api.md lacks the route row {row}"
        );
    }
    for status in Status::ALL {
        let row = format!("| `{}` | {} |", status.slug(), status.http_code());
        assert!(
            readme.contains(&row),
            "docs/api.md lacks the status row {row}"
        );
    }
}

#[tokio::test]
async fn a_function_configured_from_the_lambda_environment_reaches_the_stack() {
    let env = TestEnv::new().await;
    let config = planoauth::aws::lambda_config().expect("the stack's environment is Lambda's");
    assert!(
        config
            .timeout_config()
            .and_then(|t| t.operation_timeout())
            .is_some()
    );
    let app = planoauth::App::new(
        aws_sdk_dynamodb::Client::new(&config),
        env.app.db.tables.clone(),
        std::sync::Arc::new(planoauth::clock::SystemClock),
    );
    let token = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let employee = env.employee(&[]).await;
    let body = json!({ "token": token, "id": employee.id, "email": employee.email }).to_string();
    let reply = env
        .call_with(
            &app,
            env.route(routes::EMPLOYEES_UPDATE),
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await;
    assert_eq!(reply.status(), "action-successful", "{}", reply.body);
}

async fn setup() -> (TestEnv, String, Employee) {
    employee_to_update().await
}

async fn update(env: &TestEnv, token: &str, employee: &Employee, extra: Value) -> Answer {
    update_employee(env, token, employee, extra).await
}

#[tokio::test]
async fn unknown_or_malformed_tokens_are_invalid() {
    let (env, _, employee) = setup().await;
    for token in [
        "nonsense".to_owned(),
        "pa_app_unknownunknownunknownunknownunknownunkn".to_owned(),
        "pa_ses_unknownunknownunknownunknownunknownunkn".to_owned(),
    ] {
        let answer = update(&env, &token, &employee, json!({})).await;
        assert_status(&answer, "invalid-token", 401);
        assert!(answer.body.get("session").is_none());
    }
}

#[tokio::test]
async fn a_bearer_header_is_accepted() {
    let (env, token, employee) = setup().await;
    let body = json!({"id": employee.id, "email": employee.email}).to_string();
    let bearer = format!("Bearer {token}");
    let answer = env
        .call_with(
            &env.app,
            env.route(routes::EMPLOYEES_UPDATE),
            &[
                ("content-type", "application/json"),
                ("authorization", &bearer),
            ],
            body.as_bytes(),
        )
        .await;
    assert_status(&answer, "action-successful", 200);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_invalid_content_type() {
    let (env, token, employee) = setup().await;
    let form = format!("token={token}&id={}", employee.id);
    for (content_type, body) in [
        ("application/x-www-form-urlencoded", form.as_str()),
        ("application/json", form.as_str()),
        ("application/json", "[1, 2]"),
        ("text/plain", "{}"),
    ] {
        let answer = env
            .call_with(
                &env.app,
                env.route(routes::EMPLOYEES_UPDATE),
                &[("content-type", content_type)],
                body.as_bytes(),
            )
            .await;
        assert_status(&answer, "invalid-content-type", 400);
    }
}

#[tokio::test]
async fn a_session_token_returns_the_session_in_session_view() {
    let (env, _, employee) = setup().await;
    let manager = env.employee(&[(PlanoAuth, "manager")]).await;
    let session = env.session(manager.id, PlanoAuth, false).await;
    let answer = update(&env, &session, &employee, json!({})).await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.session()["user_id"], manager.id);
    assert_eq!(answer.session()["application"], "planoauth");
    assert!(answer.session().get("permissions").is_none());
    assert!(
        !answer.body.to_string().contains(&session),
        "the token is never echoed"
    );

    let internal = update(
        &env,
        &session,
        &employee,
        json!({"session_view": "internalapps_view"}),
    )
    .await;
    assert!(internal.session()["permissions"]["planoauth"].is_array());
    assert!(internal.session()["last_used_at"].is_string());
}

#[tokio::test]
async fn a_user_without_records_is_client_required_with_the_session() {
    let (env, _, employee) = setup().await;
    let user = env.user_without_records().await;
    let with_user = env.session(user, PlanoAuth, false).await;
    let guest = env.guest_session().await;
    for (session, user_id) in [(with_user, json!(user)), (guest, Value::Null)] {
        let answer = update(&env, &session, &employee, json!({})).await;
        assert_status(&answer, "client-required", 401);
        assert!(answer.message().contains("/api/v1/users/client_register"));
        assert_eq!(answer.session()["user_id"], user_id);
    }
}

#[tokio::test]
async fn permissions_are_checked_in_the_application_acted_in() {
    let (env, _, employee) = setup().await;
    let user = env
        .employee(&[(PlanoAuth, "staff"), (PlanoOrder, "manager")])
        .await;
    let session = env.session(user.id, PlanoAuth, false).await;
    assert_status(
        &update(&env, &session, &employee, json!({})).await,
        "permission-denied",
        403,
    );
    let as_order = update(
        &env,
        &session,
        &employee,
        json!({"application": "planoorder"}),
    )
    .await;
    assert_status(&as_order, "action-successful", 200);
}

#[tokio::test]
async fn application_tokens_carry_their_own_permissions() {
    let (env, _, employee) = setup().await;
    let without = env.application_token(PlanoAuth, &[]).await;
    assert_status(
        &update(&env, &without, &employee, json!({})).await,
        "permission-denied",
        403,
    );

    let order_token = env
        .application_token(PlanoOrder, &["employees.update"])
        .await;
    assert_status(
        &update(&env, &order_token, &employee, json!({})).await,
        "action-successful",
        200,
    );
    let elsewhere = update(
        &env,
        &order_token,
        &employee,
        json!({"application": Application::PlanoX2.slug()}),
    )
    .await;
    assert_status(&elsewhere, "permission-denied", 403);
}

#[tokio::test]
async fn two_different_tokens_are_refused_rather_than_one_chosen() {
    let (env, token, employee) = setup().await;
    let other = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let body = json!({"token": token, "id": employee.id, "email": employee.email}).to_string();
    let send = |bearer: String| {
        let body = body.clone();
        let env = &env;
        async move {
            env.call_with(
                &env.app,
                env.route(routes::EMPLOYEES_UPDATE),
                &[
                    ("content-type", "application/json"),
                    ("authorization", &bearer),
                ],
                body.as_bytes(),
            )
            .await
        }
    };
    let mixed = send(format!("Bearer {other}")).await;
    assert_status(&mixed, "invalid-param", 400);
    assert!(mixed.message().contains("`token`"), "{}", mixed.body);
    let same = send(format!("Bearer {token}")).await;
    assert_status(&same, "action-successful", 200);
}

#[tokio::test]
async fn every_answer_tells_browsers_not_to_sniff_it_nor_to_pass_on_where_they_came_from() {
    let (env, token, employee) = setup().await;
    let succeeded = update_employee(&env, &token, &employee, json!({})).await;
    let refused = update_employee(&env, "pa_app_unknown", &employee, json!({})).await;
    let unknown = env
        .dispatch(
            lambda_http::request::from_str(
                &local_api::http_api_event("GET", "/nowhere", &[], b"").to_string(),
            )
            .unwrap(),
        )
        .await;
    assert_status(&unknown, "route-non-existent", 500);
    for answer in [succeeded, refused, unknown] {
        assert_eq!(answer.headers["x-content-type-options"], "nosniff");
        assert_eq!(answer.headers["referrer-policy"], "no-referrer");
        assert_eq!(answer.headers["cache-control"], "no-store");
    }
}
