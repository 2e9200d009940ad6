//! The CloudWatch metrics the functions write (Embedded Metric Format records), read
//! back as this process keeps them: a record per answered request with its route and
//! status, and the counts of what happened while answering. One test, in order: the
//! counts are the process's, and a test beside it would take some.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::metrics::{self, Metric};
use planoauth::routes;
use planoauth_tests::{TestEnv, assert_status, set_faults};
use serde_json::{Value, json};

const PASSWORD: &str = "amber-Signal-45-meadow";

/// The records written since `seen` of them were read.
fn records_after(seen: &mut usize) -> Vec<Value> {
    let all = metrics::captured();
    let new = all[*seen..].to_vec();
    *seen = all.len();
    new
}

fn total(records: &[Value], metric: Metric) -> u64 {
    records
        .iter()
        .filter_map(|record| record[metric.name()].as_u64())
        .sum()
}

#[tokio::test]
async fn requests_and_what_happened_in_them_are_counted() {
    assert!(metrics::capture());
    let env = TestEnv::isolated("metrics").await;
    let token = env.application_token(PlanoAuth, &["sessions.create"]).await;
    let user = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let sign_in =
        |password: &str| json!({ "token": token, "email": user.email, "password": password });
    let mut seen = metrics::captured().len();

    // A wrong password: one request record, with its status, counting the failure.
    let answer = env
        .call_encoded(
            env.route(routes::SESSIONS_CREATE),
            &sign_in("not-it-at-all-1"),
        )
        .await;
    assert_status(&answer, "invalid-param", 400);
    let records = records_after(&mut seen);
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record["Route"], routes::SESSIONS_CREATE.path);
    assert_eq!(record["Status"], "invalid-param");
    assert_eq!(record[metrics::REQUESTS], 1);
    assert_eq!(record[Metric::SignInFailures.name()], 1);
    let directives = record["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert!(
        directives
            .iter()
            .all(|d| d["Namespace"] == metrics::NAMESPACE)
    );

    // Where its time went: the record splits the request's duration into the time
    // DynamoDB was waited on (its account read and throttle write, at least) and the rest
    // (the argon2 verification, at least a few milliseconds).
    let duration = record["DurationMs"].as_f64().unwrap();
    let waited = record["DynamoDbMs"].as_f64().unwrap();
    let own = record["OwnMs"].as_f64().unwrap();
    assert!(waited > 0.0 && own > 1.0, "{record}");
    assert!((duration - waited - own).abs() < 0.002, "{record}");

    // A right one: no failure counted.
    let answer = env
        .call_encoded(env.route(routes::SESSIONS_CREATE), &sign_in(PASSWORD))
        .await;
    assert_status(&answer, "action-successful", 200);
    let records = records_after(&mut seen);
    assert_eq!(records[0]["Status"], "action-successful");
    assert_eq!(total(&records, Metric::SignInFailures), 0);

    // DynamoDB throttling a tenth of the calls: the SDK retries, every read succeeds, and
    // the throttles and retries are counted (none throttled in 100 calls: 0.9^100, a
    // chance in 38,000; a read failing all six attempts: one in a million).
    set_faults(&env.prefix, json!({ "throttle_rate": 0.1 })).await;
    for _ in 0..100 {
        assert!(
            env.app
                .db
                .employees()
                .find(user.id)
                .await
                .unwrap()
                .is_some()
        );
    }
    set_faults(&env.prefix, json!({ "throttle_rate": 0.0 })).await;
    metrics::emit(None);
    let records = records_after(&mut seen);
    let throttles = total(&records, Metric::DynamoDbThrottles);
    assert!(throttles > 0, "{records:?}");
    assert!(total(&records, Metric::DynamoDbRetries) >= throttles);
}
