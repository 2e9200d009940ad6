//! What every route shares: the route registry against `template.yaml` and the local
//! API, and the pipeline's handling of a handler that panics.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::params::Params;
use planoauth::routes::{self, Route};
use planoauth::{ApiError, Ctx, Endpoint, Reply, Status};
use planoauth_tests::{TestEnv, template};
use serde_json::json;

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
    let reply = env.call(&Panics, &json!({"token": token})).await;
    assert_eq!((reply.status(), reply.http), ("application-crash", 500));
    assert_eq!(reply.message(), Status::ApplicationCrash.message());
}

#[test]
fn the_readme_lists_every_route_and_every_status_with_its_code() {
    let readme =
        std::fs::read_to_string(planoauth_tests::repository_root().join("README.md")).unwrap();
    for route in routes::ALL {
        let row = format!(
            "| `{}` | `{}` | {} |",
            route.key(),
            route.function,
            route.access.describe()
        );
        assert!(readme.contains(&row), "README lacks the route row {row}");
    }
    for status in Status::ALL {
        let row = format!("| `{}` | {} |", status.slug(), status.http_code());
        assert!(readme.contains(&row), "README lacks the status row {row}");
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
