//! The sample events in `events/` (what `sam local invoke` and `make invoke` send), each
//! through its function's own binary under AWS's Lambda Runtime Interface Emulator, with
//! the environment `template.yaml` gives that function, against the local stack: its
//! `main`, its init and the Lambda Runtime API together, as in Lambda. And the events'
//! shape, against what the pinned SAM CLI generates for API Gateway.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth_invoke::{Emulator, Local, Tokens, environment, function_for_event, needs_user};
use planoauth_tests::{
    PASSKEY_ORIGIN, PASSKEY_RP_ID, PASSWORD_RESET_URL, SENDER, SIGN_IN_URL, TestEnv,
    repository_root, template,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const PASSWORD: &str = "harbor-Violet-38-meadow";

/// The emulator `make test` names (`scripts/test.sh` finds it in the pinned SAM CLI).
fn emulator() -> Emulator {
    let program = std::env::var("AWS_LAMBDA_RIE")
        .expect("AWS_LAMBDA_RIE names the Lambda Runtime Interface Emulator: run `make test`");
    Emulator {
        program: program.into(),
    }
}

/// The sample events: their names and contents.
fn events() -> Vec<(String, String)> {
    let mut events: Vec<(String, String)> = std::fs::read_dir(repository_root().join("events"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            !["expected-statuses.json", "env.json"].contains(&name.as_ref())
        })
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    events.sort();
    events
}

#[tokio::test]
async fn every_sample_event_answers_its_expected_status_through_its_functions_binary() {
    let expected: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(repository_root().join("events/expected-statuses.json")).unwrap(),
    )
    .unwrap();
    // A fresh install, as `make run` bootstraps it: the admin is employee 1, the sample
    // photographer (whom the planoauth token may update) employee 2.
    let env = TestEnv::isolated("events").await;
    let install = planoauth_admin::bootstrap::bootstrap(
        &env.app,
        "http://127.0.0.1:3000",
        "admin@planoauth.local",
        Some("photographer@planoauth.local"),
    )
    .await
    .unwrap();
    let template = template();
    let root = repository_root();
    let mut local = Local::from_env(&env.prefix, Some(root.join("layers"))).unwrap();
    local.parameters = BTreeMap::from([
        ("OnboardingSender".into(), SENDER.into()),
        ("SignInUrl".into(), SIGN_IN_URL.into()),
        ("PasswordResetUrl".into(), PASSWORD_RESET_URL.into()),
        ("PasskeyRpId".into(), PASSKEY_RP_ID.into()),
        ("PasskeyOrigins".into(), PASSKEY_ORIGIN.into()),
    ]);
    let emulator = emulator();
    let binaries = root.join("target/debug");

    let events = events();
    for (name, text) in &events {
        let status = expected
            .get(name)
            .unwrap_or_else(|| panic!("events/expected-statuses.json has no status for {name}"));
        let function = function_for_event(&template, &PathBuf::from(name))
            .unwrap_or_else(|| panic!("{name} names no function of template.yaml"));
        let mut tokens = Tokens {
            application: install.applications["planoauth"].clone(),
            ..Tokens::default()
        };
        if needs_user(text) {
            let user = env
                .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
                .await;
            tokens.session = Some(env.session(user.id, PlanoAuth, false).await);
            tokens.password = Some(PASSWORD.into());
        }
        let event = planoauth_invoke::render(text, &tokens).unwrap();
        let variables = environment(&template, &function, &local).unwrap();
        let invocation = emulator
            .invoke(&binaries.join(&function.binary), &variables, &event)
            .await
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(
            &invocation.status(),
            status,
            "{name}: {}\n{}",
            invocation.answer,
            invocation.output
        );
        let report = invocation.report.unwrap_or_default();
        assert!(
            report.contains("Duration:"),
            "{name}: no REPORT line: {}",
            invocation.output
        );
    }
    assert_eq!(
        events.len(),
        expected.len(),
        "every expectation names an event that exists"
    );
}

/// The keys of a JSON value, as paths (`requestContext.http.sourceIp`), but under
/// `headers`, whose names are the event's own.
fn keys(value: &Value, path: &str, into: &mut BTreeSet<String>) {
    if let Value::Object(map) = value {
        for (key, value) in map {
            let here = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            into.insert(here.clone());
            if key != "headers" {
                keys(value, &here, into);
            }
        }
    }
}

#[test]
fn every_http_event_has_the_shape_api_gateway_gives() {
    let sam = std::env::var("SAM_CLI").expect("SAM_CLI names the pinned SAM CLI: run `make test`");
    let generated = std::process::Command::new(sam)
        .args(["local", "generate-event", "apigateway", "http-api-proxy"])
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let shape: Value = serde_json::from_slice(&generated.stdout).unwrap();
    let mut expected = BTreeSet::new();
    keys(&shape, "", &mut expected);
    let mut checked = 0;
    for (name, text) in events() {
        let event: Value = serde_json::from_str(&text).unwrap();
        if event.get("requestContext").is_none() {
            assert_eq!(event["detail-type"], "Scheduled Event", "{name}");
            continue;
        }
        let mut found = BTreeSet::new();
        keys(&event, "", &mut found);
        assert_eq!(
            found, expected,
            "{name} is not shaped as API Gateway's events are"
        );
        checked += 1;
    }
    assert!(checked > 10, "only {checked} HTTP events");
}

#[test]
fn every_function_reads_its_endpoint_from_the_template_and_none_is_set_in_aws() {
    let template = template();
    for binary in template.function_binaries() {
        let function = template.function(&binary).unwrap();
        let endpoint = function
            .environment
            .iter()
            .find(|(name, _)| name == "AWS_ENDPOINT_URL");
        assert_eq!(
            endpoint.map(|(_, value)| value.clone()),
            Some(planoauth_admin::template::EnvironmentValue::Literal(
                String::new()
            )),
            "{binary}: declared, so that `sam local invoke --env-vars` can set it, and empty"
        );
    }
}

#[test]
fn env_json_points_every_function_at_a_stack_a_container_reaches() {
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
    assert_eq!(
        parameters["AWS_ENDPOINT_URL"],
        "http://host.docker.internal:4566"
    );
    for variable in [
        "AWS_REGION",
        "ONBOARDING_SENDER",
        "SIGN_IN_URL",
        "PASSWORD_RESET_URL",
        "PASSKEY_RP_ID",
        "PASSKEY_ORIGINS",
    ] {
        assert!(parameters[variable].is_string(), "{variable}");
    }
}
