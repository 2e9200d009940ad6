//! Replays every sample event in `events/` (what `sam local invoke` sends) through the
//! function its route names, on a freshly bootstrapped install, and checks the status
//! `events/expected-statuses.json` says it produces.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::routes;
use planoauth_tests::{TestEnv, repository_root};
use serde_json::Value;
use std::collections::BTreeMap;

/// The text the sample events carry where the bootstrap's planoauth token goes...
const TOKEN_PLACEHOLDER: &str = "PLANOAUTH_APPLICATION_TOKEN";
/// ...where a session of the admin goes (a fresh one for each event)...
const SESSION_PLACEHOLDER: &str = "PLANOAUTH_SESSION_TOKEN";
/// ...and where the admin's password goes, in a base64-encoded body.
const PASSWORD_PLACEHOLDER: &str = "PLANOAUTH_ADMIN_PASSWORD";

#[tokio::test]
async fn every_sample_event_produces_its_expected_status() {
    let events = repository_root().join("events");
    let expected: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(events.join("expected-statuses.json")).unwrap(),
    )
    .unwrap();

    // A fresh install, as `make run` bootstraps it: the admin is employee 1, the sample
    // photographer (whom the planoauth token may update) employee 2.
    let prefix = format!("planoauth-events-{}-", planoauth::tokens::random_id());
    let env = TestEnv::with_prefix(&prefix).await;
    let install = planoauth_admin::bootstrap::bootstrap(
        &env.app,
        "http://127.0.0.1:3000",
        "admin@planoauth.local",
        Some("photographer@planoauth.local"),
    )
    .await
    .unwrap();
    let token = &install.applications["planoauth"];

    let mut replayed = 0;
    for entry in std::fs::read_dir(&events).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        if event.get("requestContext").is_none() {
            // Not an HTTP event: the expectations, `sam local`'s environment, or a
            // scheduled function's event, which its own test replays (sessions_cleanup.rs,
            // notifications.rs).
            assert!(
                ["expected-statuses.json", "env.json"].contains(&name.as_str())
                    || event["detail-type"] == "Scheduled Event",
                "{name} is neither an HTTP event nor a scheduled one"
            );
            continue;
        }
        let status = expected
            .get(&name)
            .unwrap_or_else(|| panic!("events/expected-statuses.json has no status for {name}"));
        let route_key = event["routeKey"].as_str().unwrap();
        // `$default` is the fallback's: whatever no route declares.
        let route = routes::ALL.iter().find(|route| route.key() == route_key);
        assert!(
            route.is_some() || route_key == "$default",
            "{name}: no route {route_key}"
        );

        let session = env.session(1, PlanoAuth, false).await;
        let text = text
            .replace(TOKEN_PLACEHOLDER, token)
            .replace(SESSION_PLACEHOLDER, &session);
        let text = with_encoded_password(&text, &install.admin.password);
        let request = lambda_http::request::from_str(&text).unwrap();
        let reply = env.dispatch(request).await;
        assert_eq!(reply.status(), status, "{name}: {}", reply.body);
        replayed += 1;
    }
    assert_eq!(
        replayed,
        expected.len(),
        "every expectation names an event that exists"
    );
}

/// The event with the admin's password in place of its placeholder, where a sensitive
/// route's base64-encoded body holds one.
fn with_encoded_password(text: &str, password: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let mut event: Value = serde_json::from_str(text).unwrap();
    let decoded = event["body"]
        .as_str()
        .and_then(|body| STANDARD.decode(body).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match decoded {
        Some(body) if body.contains(PASSWORD_PLACEHOLDER) => {
            let body = STANDARD.encode(body.replace(PASSWORD_PLACEHOLDER, password));
            event["headers"]["content-length"] = Value::from(body.len().to_string());
            event["body"] = Value::from(body);
            event.to_string()
        }
        _ => text.to_owned(),
    }
}

#[test]
fn env_json_points_every_function_at_the_local_stack() {
    let text = std::fs::read_to_string(repository_root().join("events/env.json")).unwrap();
    let env: Value = serde_json::from_str(&text).unwrap();
    let parameters = &env["Parameters"];
    for resource in planoauth::store::tables::Tables::RESOURCES {
        let variable = planoauth::store::tables::env_variable(resource);
        assert_eq!(
            parameters[&variable],
            format!("planoauth-local-{resource}"),
            "{variable}"
        );
    }
    for variable in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "ONBOARDING_SENDER",
        "SIGN_IN_URL",
        "PASSWORD_RESET_URL",
    ] {
        assert!(parameters[variable].is_string(), "{variable}");
    }
}
