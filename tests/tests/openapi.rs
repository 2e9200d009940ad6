//! `openapi.yaml` against the route registry: every route and no other, its encoding,
//! and every status it can answer under the right HTTP code. (The fuzzer in `make test`
//! checks the API's answers against the document.)

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::Status;
use planoauth::routes;
use planoauth_tests::repository_root;
use serde_json::Value;
use std::collections::BTreeSet;

fn document() -> Value {
    let text = std::fs::read_to_string(repository_root().join("openapi.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

#[test]
fn it_is_openapi_3_1() {
    assert_eq!(document()["openapi"], "3.1.0");
}

#[test]
fn it_describes_exactly_the_registered_routes() {
    let document = document();
    let documented: BTreeSet<&str> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let registered: BTreeSet<&str> = routes::ALL.iter().map(|route| route.path).collect();
    assert_eq!(documented, registered);
    for route in routes::ALL {
        let operations: Vec<&String> = document["paths"][route.path]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(operations, ["post"], "{} is a POST only", route.path);
    }
}

#[test]
fn sensitive_routes_take_a_base64_body() {
    let document = document();
    for route in routes::ALL {
        let operation = &document["paths"][route.path]["post"];
        assert_eq!(
            operation["x-sensitive-params"], route.sensitive_params,
            "{}",
            route.path
        );
        let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
        if route.sensitive_params {
            assert_eq!(schema["contentEncoding"], "base64", "{}", route.path);
            assert!(
                schema["contentSchema"]["$ref"].is_string(),
                "{}",
                route.path
            );
        } else {
            assert!(schema["$ref"].is_string(), "{}", route.path);
        }
    }
}

#[test]
fn every_status_a_route_can_answer_is_documented_under_its_code() {
    let document = document();
    for route in routes::ALL {
        let operation = &document["paths"][route.path]["post"];
        let listed: BTreeSet<&str> = operation["x-statuses"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let expected: BTreeSet<&str> = route.statuses().into_iter().map(Status::slug).collect();
        assert_eq!(listed, expected, "x-statuses of {}", route.path);

        let mut under_codes = BTreeSet::new();
        for (code, response) in operation["responses"].as_object().unwrap() {
            let slugs =
                response["content"]["application/json"]["schema"]["properties"]["status"]["enum"]
                    .as_array()
                    .unwrap();
            for slug in slugs.iter().filter_map(Value::as_str) {
                let status =
                    Status::from_slug(slug).unwrap_or_else(|| panic!("{slug} is no status"));
                assert_eq!(
                    code,
                    &status.http_code().to_string(),
                    "{} {slug}",
                    route.path
                );
                under_codes.insert(slug);
            }
        }
        assert_eq!(under_codes, expected, "responses of {}", route.path);
    }
}

#[test]
fn the_creates_take_an_idempotency_key() {
    let document = document();
    for route in routes::ALL {
        let parameters = &document["paths"][route.path]["post"]["parameters"];
        let takes_key = parameters.as_array().is_some_and(|parameters| {
            parameters
                .iter()
                .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey")
        });
        assert_eq!(takes_key, route.idempotent, "{}", route.path);
    }
    let key = &document["components"]["parameters"]["IdempotencyKey"];
    assert_eq!(key["name"], planoauth::idempotency::HEADER);
    assert_eq!(key["in"], "header");
}
