//! The routing statuses: `route-not-found` and `service-not-found` for what an operator
//! switched off in the route registry, `identify-request-error` when the registry cannot
//! be read, `route-non-existent` for what no route declares. On their own tables, as a
//! switched-off route must not disturb other tests.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::routes;
use planoauth_tests::{Answer, TestEnv};
use serde_json::json;

async fn isolated_env() -> TestEnv {
    TestEnv::with_prefix(&format!(
        "planoauth-routing-{}-",
        planoauth::tokens::random_id()
    ))
    .await
}

/// An update of an employee, on an app that reads the registry at every request.
async fn update(env: &TestEnv) -> Answer {
    let token = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let employee = env.employee(&[]).await;
    let body = json!({ "token": token, "id": employee.id, "email": employee.email }).to_string();
    let app = env.with_tables(env.app.db.tables.clone());
    env.call_with(
        &app,
        env.route(routes::EMPLOYEES_UPDATE),
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await
}

#[tokio::test]
async fn a_route_switched_off_is_route_not_found_until_switched_on() {
    let env = isolated_env().await;
    env.admin("route disable --path /api/v1/employees/update --reason maintenance")
        .await
        .unwrap();
    let answer = update(&env).await;
    assert_eq!((answer.status(), answer.http), ("route-not-found", 404));

    env.admin("route enable --path /api/v1/employees/update")
        .await
        .unwrap();
    assert_eq!(update(&env).await.status(), "action-successful");
}

#[tokio::test]
async fn a_service_switched_off_is_service_not_found() {
    let env = isolated_env().await;
    env.admin("service disable --name employees").await.unwrap();
    let answer = update(&env).await;
    assert_eq!((answer.status(), answer.http), ("service-not-found", 404));
    // Other services go on.
    let token = env.application_token(PlanoAuth, &["sessions.create"]).await;
    let guest = env
        .call_encoded(
            env.route(routes::SESSIONS_CREATE),
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(guest.status(), "action-successful");

    env.admin("service enable --name employees").await.unwrap();
    assert_eq!(update(&env).await.status(), "action-successful");
}

#[tokio::test]
async fn an_unreadable_registry_is_identify_request_error() {
    let env = isolated_env().await;
    let mut tables = env.app.db.tables.clone();
    tables.route_registry = "planoauth-routing-NoSuchTable".into();
    let app = env.with_tables(tables);
    let body = json!({ "token": "pa_app_x", "id": 1, "email": "a@b.co" }).to_string();
    let answer = env
        .call_with(
            &app,
            env.route(routes::EMPLOYEES_UPDATE),
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await;
    assert_eq!(
        (answer.status(), answer.http),
        ("identify-request-error", 500)
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_are_route_non_existent() {
    let env = isolated_env().await;
    for (method, path) in [
        ("POST", "/api/v1/employees/delete"),
        ("GET", "/api/v1/employees/update"),
        ("POST", "/"),
        ("DELETE", "/api/v2/sessions/show"),
    ] {
        let event = local_api::http_api_event(
            method,
            path,
            &[("content-type".into(), "application/json".into())],
            b"{}",
        );
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let reply = env.dispatch(request).await;
        assert_eq!(
            (reply.status(), reply.http),
            ("route-non-existent", 500),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn switches_name_only_known_routes_and_services() {
    let env = isolated_env().await;
    for line in [
        "route disable --path /api/v1/nothing/here",
        "service disable --name nothing",
    ] {
        assert!(env.admin(line).await.is_err(), "{line}");
    }
}

/// Sends a request to every route through the local API's dispatch, each one that only
/// the route's own function answers the way it does.
#[tokio::test]
async fn the_local_api_dispatches_every_route_to_its_function() {
    let env = TestEnv::new().await;
    let token = env
        .application_token(
            PlanoAuth,
            &[
                "employees.update",
                "photographers.create",
                "sessions.create",
                "clients.register",
                "passwords.reset",
            ],
        )
        .await;
    let guest = env.guest_session().await;
    let user = env.user_without_records().await;
    let signed_in = env.session(user, PlanoAuth, false).await;
    let email = env.unique_email("routed");
    let cases = [
        (routes::EMPLOYEES_UPDATE, json!({ "token": token }), "`id`"),
        (
            routes::PHOTOGRAPHERS_CREATE,
            json!({ "token": token, "email": email }),
            "`first_name`",
        ),
        (
            routes::USERS_CLIENT_REGISTER,
            json!({ "token": token, "email": email }),
            "`password`",
        ),
        (routes::SESSIONS_CREATE, json!({ "token": token }), "token"),
        (routes::SESSIONS_SHOW, json!({ "token": guest }), "shown"),
        (routes::SESSIONS_DELETE, json!({ "token": guest }), "ended"),
        (
            routes::USERS_PASSWORD_UPDATE,
            json!({ "token": signed_in, "current_password": "x" }),
            "`new_password`",
        ),
        (
            routes::USERS_PASSWORD_FORGOT,
            json!({ "token": token }),
            "`email`",
        ),
        (
            routes::USERS_PASSWORD_RESET,
            json!({ "token": token, "reset_token": "x" }),
            "`new_password`",
        ),
        (
            routes::PASSKEYS_REGISTER_START,
            json!({ "token": signed_in }),
            "ceremony",
        ),
        (
            routes::PASSKEYS_REGISTER_FINISH,
            json!({ "token": signed_in }),
            "`ceremony`",
        ),
        (
            routes::PASSKEYS_LIST,
            json!({ "token": signed_in }),
            "passkeys",
        ),
        (
            routes::PASSKEYS_DELETE,
            json!({ "token": signed_in }),
            "`passkey_id`",
        ),
        (
            routes::SESSIONS_PASSKEY_START,
            json!({ "token": token }),
            "ceremony",
        ),
        (
            routes::SESSIONS_PASSKEY_FINISH,
            json!({ "token": token }),
            "`ceremony`",
        ),
        (
            routes::USERS_TOTP_ENROLL,
            json!({ "token": signed_in }),
            "ceremony",
        ),
        (
            routes::USERS_TOTP_CONFIRM,
            json!({ "token": signed_in }),
            "`ceremony`",
        ),
        (
            routes::USERS_TOTP_DISABLE,
            json!({ "token": signed_in }),
            "`totp_code`",
        ),
        (
            routes::USERS_RECOVERY_CODES_REGENERATE,
            json!({ "token": signed_in }),
            "`totp_code`",
        ),
        (
            routes::SESSIONS_SECOND_FACTOR,
            json!({ "token": token }),
            "`challenge`",
        ),
    ];
    for route in routes::ALL {
        assert!(
            cases.iter().any(|(case, _, _)| case == route),
            "{} is not sent a request",
            route.path
        );
        assert_eq!(env.functions.get(route).map(|f| f.route()), Some(*route));
    }
    for (route, params, mark) in cases {
        let body = if route.sensitive_params {
            planoauth_tests::encoded(&params)
        } else {
            params.to_string()
        };
        let event = local_api::http_api_event(
            "POST",
            route.path,
            &[("content-type".into(), "application/json".into())],
            body.as_bytes(),
        );
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let answer = env.dispatch(request).await;
        let reached = match mark {
            "token" => answer.session()["token"].is_string(),
            "shown" => answer.status() == "action-successful" && answer.data().is_null(),
            "ended" => answer.data()["ended"] == 1,
            "ceremony" => answer.data()["ceremony"].is_string(),
            "passkeys" => answer.data()["passkeys"].is_array(),
            param => answer.status() == "missing-param" && answer.message().contains(param),
        };
        assert!(reached, "{}: {}", route.path, answer.body);
    }
}
