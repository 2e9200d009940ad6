//! A burst of changes on one employee record from eight clients at once, on the local
//! stack with DynamoDB's transaction conflicts. It has a test binary of its own, so that
//! it runs alone: how many of its requests wait out the retry budget depends on how fast
//! the emulator answers, and the other tests would slow it down.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::routes;
use planoauth_tests::{
    Answer, TestEnv, assert_no_server_errors, injected, injected_since, set_faults, tally,
};
use serde_json::{Value, json};

#[tokio::test]
async fn a_burst_of_field_and_email_changes_on_one_record_answers_without_server_errors() {
    let name = "burst";
    let env = TestEnv::isolated(name).await;
    let prefix = env.prefix.clone();
    let token = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    set_faults(&prefix, json!({ "transaction_ms": 15 })).await;
    let employee = env.employee(&[]).await;
    let before = injected(&prefix).await;
    // Eight clients, each changing the record's email to addresses of its own, or its
    // name, phone and skills under the address it set last.
    let clients = (0..8).map(|client| {
        let (env, token, id) = (&env, &token, employee.id);
        let mut email = employee.email.clone();
        async move {
            let mut answers = Vec::new();
            for round in 0..15 {
                let mut change = json!({
                    "token": token, "id": id, "email": email,
                    "first_name": format!("Client {client}"),
                    "skills": [format!("round-{round}")],
                });
                if round % 3 == 0 {
                    email = env.unique_email(&format!("burst{client}"));
                    change["email"] = Value::from(email.clone());
                }
                answers.push(env.call(env.route(routes::EMPLOYEES_UPDATE), &change).await);
            }
            answers
        }
    });
    let answers: Vec<Answer> = futures_util::future::join_all(clients)
        .await
        .into_iter()
        .flatten()
        .collect();

    assert_no_server_errors(&answers);
    // Nearly every change is an email change (the others send an address that another
    // client has moved on from), so the record's changes are one transaction at a time.
    // Each waits its turn within the retry budget; on this emulator, some thirty times
    // slower per call than DynamoDB, the odd one may run out and hear record-busy. Every
    // client writes the same fields, and an update holds only while the fields it writes
    // are as it read them (its audit record names the values it replaced), so the
    // changes take turns one at a time: about one in twelve runs out here.
    let counts = tally(&answers);
    let succeeded = counts.get("action-successful").copied().unwrap_or(0);
    let busy = counts.get("record-busy").copied().unwrap_or(0);
    println!("burst on one record: {counts:?}");
    assert_eq!(succeeded + busy, answers.len(), "{counts:?}");
    assert!(
        busy * 8 <= answers.len(),
        "more than one in eight gave up: {counts:?}"
    );
    let conflicts = injected_since(&prefix, &before, "transaction_conflicts").await
        + injected_since(&prefix, &before, "write_conflicts").await;
    assert!(
        conflicts > 0,
        "the burst met no conflict: it proves nothing"
    );
    env.assert_nothing_half_written().await;
}
