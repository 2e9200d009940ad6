//! `POST /api/v1/employees/update`, against the local DynamoDB, through the entry point
//! Lambda calls.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::{PlanoAuth, PlanoOrder};
use planoauth::domain::Employee;
use planoauth::routes;
use planoauth_tests::{
    Answer, TestEnv, assert_one_won_the_address, assert_status, assert_the_race_met_conflicts,
    employee_to_update, injected, race_faults, set_faults, update_employee,
};
use serde_json::{Value, json};

async fn setup() -> (TestEnv, String, Employee) {
    employee_to_update().await
}

async fn update(env: &TestEnv, token: &str, employee: &Employee, extra: Value) -> Answer {
    update_employee(env, token, employee, extra).await
}

#[tokio::test]
async fn updates_the_given_fields_and_leaves_the_rest() {
    let (env, token, employee) = setup().await;
    let answer = update(
        &env,
        &token,
        &employee,
        json!({"first_name": "Grace", "skills": ["drone", "portraits"], "view": "internalapps_view"}),
    )
    .await;
    assert_status(&answer, "action-successful", 200);
    let data = answer.data();
    assert_eq!(data["first_name"], "Grace");
    assert_eq!(data["skills"], json!(["drone", "portraits"]));
    assert_eq!(data["last_name"], "Lovelace", "absent fields are unchanged");
    assert_eq!(data["phone"], "+1 555 010 0000");
    assert_eq!(data["service_area_id"], 1);

    let stored = env
        .app
        .db
        .employees()
        .find(employee.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.first_name.as_deref(), Some("Grace"));
    assert_eq!(stored.last_name.as_deref(), Some("Lovelace"));
}

#[tokio::test]
async fn null_clears_an_optional_field() {
    let (env, token, employee) = setup().await;
    let answer = update(
        &env,
        &token,
        &employee,
        json!({"phone": null, "service_area_id": null, "skills": null, "view": "internalapps_view"}),
    )
    .await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.data()["phone"], Value::Null);
    assert_eq!(answer.data()["service_area_id"], Value::Null);
    assert_eq!(answer.data()["skills"], json!([]));
    let stored = env
        .app
        .db
        .employees()
        .find(employee.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.phone, stored.service_area_id), (None, None));
}

#[tokio::test]
async fn every_documented_field_is_stored() {
    let (env, token, employee) = setup().await;
    let answer = update(
        &env,
        &token,
        &employee,
        json!({
            "active": true,
            "service_area_id": 2,
            "first_name": "Grace",
            "last_name": "Hopper",
            "legal_name": "Grace Brewster Hopper",
            "skills": ["editing"],
            "phone": "(555) 010-1234",
            "address": {
                "street": "1 Main St", "street2": "Suite 2", "city": "Austin", "state": "TX",
                "postal_code": "78701", "longitude": "-97.7431", "latitude": 30.2672
            },
            "date_hired": "2020-02-29",
            "date_off_boarded": "2024-01-31",
            "view": "internalapps_view"
        }),
    )
    .await;
    assert_status(&answer, "action-successful", 200);
    let stored = env
        .app
        .db
        .employees()
        .find(employee.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.service_area_id, Some(2));
    assert_eq!(stored.legal_name.as_deref(), Some("Grace Brewster Hopper"));
    assert_eq!(stored.address.city.as_deref(), Some("Austin"));
    assert_eq!(stored.address.latitude.as_deref(), Some("30.2672"));
    assert_eq!(stored.address.longitude.as_deref(), Some("-97.7431"));
    assert_eq!(stored.date_hired.as_deref(), Some("2020-02-29"));
    assert_eq!(stored.date_off_boarded.as_deref(), Some("2024-01-31"));
    assert_eq!(answer.data()["address"]["postal_code"], "78701");
}

#[tokio::test]
async fn address_fields_change_one_by_one_and_null_clears_the_address() {
    let (env, token, employee) = setup().await;
    update(
        &env,
        &token,
        &employee,
        json!({"address": {"city": "Austin", "state": "TX"}}),
    )
    .await;
    let answer = update(
        &env,
        &token,
        &employee,
        json!({"address": {"city": "Houston", "state": null}, "view": "internalapps_view"}),
    )
    .await;
    assert_eq!(answer.data()["address"]["city"], "Houston");
    assert_eq!(answer.data()["address"]["state"], Value::Null);

    let cleared = update(
        &env,
        &token,
        &employee,
        json!({"address": null, "view": "internalapps_view"}),
    )
    .await;
    assert_status(&cleared, "action-successful", 200);
    assert_eq!(cleared.data()["address"]["city"], Value::Null);
}

#[tokio::test]
async fn default_view_shows_what_any_client_may_see() {
    let (env, token, employee) = setup().await;
    let answer = update(&env, &token, &employee, json!({})).await;
    assert_status(&answer, "action-successful", 200);
    let data = answer.data().as_object().unwrap();
    for shown in [
        "id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "active",
        "skills",
    ] {
        assert!(data.contains_key(shown), "default view shows {shown}");
    }
    for hidden in [
        "address",
        "legal_name",
        "date_hired",
        "service_area_id",
        "password_hash",
    ] {
        assert!(!data.contains_key(hidden), "default view hides {hidden}");
    }

    let internal = update(
        &env,
        &token,
        &employee,
        json!({"view": "internalapps_view"}),
    )
    .await;
    let data = internal.data().as_object().unwrap();
    for shown in [
        "address",
        "legal_name",
        "date_hired",
        "date_off_boarded",
        "service_area_id",
        "department",
    ] {
        assert!(data.contains_key(shown), "internalapps_view shows {shown}");
    }
    assert!(!internal.body.to_string().contains("password"));
}

#[tokio::test]
async fn missing_required_parameters_are_named() {
    let (env, token, employee) = setup().await;
    for (body, param) in [
        (json!({"token": token, "email": employee.email}), "id"),
        (json!({"token": token, "id": employee.id}), "email"),
        (
            json!({"token": token, "id": employee.id, "email": null}),
            "email",
        ),
        (json!({"id": employee.id, "email": employee.email}), "token"),
        (
            json!({"token": "  ", "id": employee.id, "email": employee.email}),
            "token",
        ),
    ] {
        let answer = env.call(env.route(routes::EMPLOYEES_UPDATE), &body).await;
        assert_status(&answer, "missing-param", 400);
        assert!(
            answer.message().contains(&format!("`{param}`")),
            "{}",
            answer.message()
        );
    }
}

#[tokio::test]
async fn invalid_parameters_are_named_with_the_reason() {
    let (env, token, employee) = setup().await;
    let cases = [
        (json!({"id": "abc"}), "id", "integer"),
        (json!({"id": -4}), "id", "positive"),
        (json!({"email": "not-an-email"}), "email", "valid email"),
        (json!({"email": 42}), "email", "string"),
        (json!({"active": "yes"}), "active", "true or false"),
        (json!({"active": null}), "active", "not null"),
        (
            json!({"service_area_id": "north"}),
            "service_area_id",
            "integer",
        ),
        (json!({"first_name": "   "}), "first_name", "blank"),
        (json!({"last_name": ["x"]}), "last_name", "string"),
        (json!({"legal_name": "x".repeat(201)}), "legal_name", "200"),
        (json!({"skills": "drone"}), "skills", "array"),
        (json!({"skills": ["drone", 7]}), "skills.1", "string"),
        (json!({"phone": "call me"}), "phone", "phone number"),
        (json!({"address": "1 Main St"}), "address", "object"),
        (
            json!({"address": {"latitude": "91"}}),
            "address.latitude",
            "between",
        ),
        (
            json!({"address": {"longitude": "east"}}),
            "address.longitude",
            "decimal",
        ),
        (json!({"address": {"city": 5}}), "address.city", "string"),
        (
            json!({"address": {"country": "US"}}),
            "address.country",
            "not a parameter",
        ),
        (
            json!({"date_hired": "01/02/2020"}),
            "date_hired",
            "YYYY-MM-DD",
        ),
        (
            json!({"date_off_boarded": "2023-02-29"}),
            "date_off_boarded",
            "calendar",
        ),
        (json!({"view": "everything"}), "view", "internalapps_view"),
        (
            json!({"session_view": "everything"}),
            "session_view",
            "internalapps_view",
        ),
        (json!({"application": "planoweb"}), "application", "planox2"),
        (
            json!({"frist_name": "Ada"}),
            "frist_name",
            "not a parameter",
        ),
    ];
    for (extra, param, reason) in cases {
        let answer = update(&env, &token, &employee, extra.clone()).await;
        assert_status(&answer, "invalid-param", 400);
        let message = answer.message();
        assert!(
            message.contains(&format!("`{param}`")) && message.contains(reason),
            "{extra}: {message}"
        );
    }
    let unchanged = env
        .app
        .db
        .employees()
        .find(employee.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, employee, "no refused update wrote anything");
}

#[tokio::test]
async fn unknown_employee_id_is_invalid_param() {
    let (env, token, employee) = setup().await;
    let answer = env
        .call(
            env.route(routes::EMPLOYEES_UPDATE),
            &json!({"token": token, "id": 999_999_999, "email": employee.email}),
        )
        .await;
    assert_status(&answer, "invalid-param", 400);
    assert!(answer.message().contains("`id`"));
}

#[tokio::test]
async fn service_area_must_exist() {
    let (env, token, employee) = setup().await;
    let answer = update(&env, &token, &employee, json!({"service_area_id": 404})).await;
    assert_status(&answer, "invalid-param", 400);
    assert!(answer.message().contains("`service_area_id`"));
    assert_eq!(
        env.app
            .db
            .employees()
            .find(employee.id)
            .await
            .unwrap()
            .unwrap()
            .service_area_id,
        Some(1)
    );

    let answer = update(
        &env,
        &token,
        &employee,
        json!({"service_area_id": 3, "view": "internalapps_view"}),
    )
    .await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.data()["service_area_id"], 3);
}

#[tokio::test]
async fn off_boarding_must_not_precede_hiring() {
    let (env, token, employee) = setup().await;
    let both = update(
        &env,
        &token,
        &employee,
        json!({"date_hired": "2022-05-01", "date_off_boarded": "2022-04-30"}),
    )
    .await;
    assert_status(&both, "invalid-param", 400);
    assert!(both.message().contains("`date_off_boarded`"));

    update(&env, &token, &employee, json!({"date_hired": "2022-05-01"})).await;
    let against_stored = update(
        &env,
        &token,
        &employee,
        json!({"date_off_boarded": "2021-01-01"}),
    )
    .await;
    assert_status(&against_stored, "invalid-param", 400);
    let same_day = update(
        &env,
        &token,
        &employee,
        json!({"date_off_boarded": "2022-05-01"}),
    )
    .await;
    assert_status(&same_day, "action-successful", 200);
    let hired_after_off_boarding =
        update(&env, &token, &employee, json!({"date_hired": "2023-01-01"})).await;
    assert_status(&hired_after_off_boarding, "invalid-param", 400);
}

#[tokio::test]
async fn an_email_in_use_is_refused_whatever_its_case() {
    let (env, token, employee) = setup().await;
    let other = env.employee(&[]).await;
    let answer = update(
        &env,
        &token,
        &employee,
        json!({"email": other.email.to_uppercase()}),
    )
    .await;
    assert_status(&answer, "invalid-param", 400);
    assert!(answer.message().contains("`email`"));
    assert_eq!(
        env.app
            .db
            .employees()
            .find(employee.id)
            .await
            .unwrap()
            .unwrap()
            .email,
        employee.email
    );
}

#[tokio::test]
async fn changing_the_email_frees_the_old_address() {
    let (env, token, employee) = setup().await;
    let new_email = env.unique_email("renamed");
    let answer = update(&env, &token, &employee, json!({"email": new_email})).await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.data()["email"], new_email.as_str());

    let other = env.employee(&[]).await;
    let takes_old = update(&env, &token, &other, json!({"email": employee.email})).await;
    assert_status(&takes_old, "action-successful", 200);
}

#[tokio::test]
async fn a_change_of_case_keeps_the_address() {
    let (env, token, employee) = setup().await;
    let answer = update(
        &env,
        &token,
        &employee,
        json!({"email": employee.email.to_uppercase()}),
    )
    .await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.data()["email"], employee.email.to_uppercase());
}

#[tokio::test]
async fn twenty_racing_changes_to_one_new_email_let_exactly_one_win() {
    let name = "race-employees-one-email";
    let env = TestEnv::isolated(name).await;
    let prefix = env.prefix.clone();
    set_faults(&prefix, race_faults(60)).await;
    let token = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let mut employees = Vec::new();
    for _ in 0..20 {
        employees.push(env.employee(&[]).await);
    }
    let before = injected(&prefix).await;
    let contested = env.unique_email("contested");
    let changes = employees.iter().enumerate().map(|(i, employee)| {
        let cased = if i % 2 == 0 {
            contested.to_uppercase()
        } else {
            contested.clone()
        };
        update(
            &env,
            &token,
            employee,
            json!({ "email": cased, "first_name": "Racer" }),
        )
    });
    let answers = futures_util::future::join_all(changes).await;
    assert_eq!(answers.len(), 20);
    assert_one_won_the_address(&answers);
    assert_the_race_met_conflicts(&prefix, &before).await;
    let mut holding = 0;
    for employee in &employees {
        let stored = env
            .app
            .db
            .employees()
            .find(employee.id)
            .await
            .unwrap()
            .unwrap();
        if stored.email.eq_ignore_ascii_case(&contested) {
            holding += 1;
        } else {
            assert_eq!(
                stored.email, employee.email,
                "a loser's record is unchanged"
            );
            assert_eq!(stored.first_name.as_deref(), Some("Ada"));
        }
    }
    assert_eq!(holding, 1);
    env.assert_nothing_half_written().await;
}

#[tokio::test]
async fn racing_updates_of_one_employee_both_apply() {
    let (env, token, employee) = setup().await;
    let (a, b) = tokio::join!(
        update(
            &env,
            &token,
            &employee,
            json!({"email": env.unique_email("a"), "first_name": "A"})
        ),
        update(&env, &token, &employee, json!({"last_name": "B"})),
    );
    assert_status(&a, "action-successful", 200);
    assert_status(&b, "action-successful", 200);
    let stored = env
        .app
        .db
        .employees()
        .find(employee.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.first_name.as_deref(), stored.last_name.as_deref()),
        (Some("A"), Some("B"))
    );
}

/// An employee whose role in planoauth may update employees, with a session.
async fn manager_session(env: &TestEnv, remember_me: bool) -> (Employee, String) {
    let manager = env.employee(&[(PlanoAuth, "manager")]).await;
    let session = env.session(manager.id, PlanoAuth, remember_me).await;
    (manager, session)
}

#[tokio::test]
async fn a_role_without_the_permission_is_denied() {
    let (env, _, employee) = setup().await;
    let staff = env.employee(&[(PlanoAuth, "staff")]).await;
    let session = env.session(staff.id, PlanoAuth, false).await;
    let answer = update(&env, &session, &employee, json!({"first_name": "Mallory"})).await;
    assert_status(&answer, "permission-denied", 403);
    assert!(answer.session().is_object());
    assert_eq!(
        env.app
            .db
            .employees()
            .find(employee.id)
            .await
            .unwrap()
            .unwrap()
            .first_name
            .as_deref(),
        Some("Ada")
    );
}

#[tokio::test]
async fn deactivating_an_employee_ends_their_sessions() {
    let (env, token, _) = setup().await;
    let (manager, own_session) = manager_session(&env, true).await;
    let second_session = env.session(manager.id, PlanoOrder, false).await;
    let answer = update(&env, &token, &manager, json!({"active": false})).await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.data()["active"], false);
    for session in [own_session, second_session] {
        assert_status(
            &update(&env, &session, &manager, json!({})).await,
            "invalid-token",
            401,
        );
    }
}

#[tokio::test]
async fn a_store_failure_is_an_application_crash() {
    let (env, token, employee) = setup().await;
    let mut broken = env.app.db.tables.clone();
    broken.employees = "planoauth-test-NoSuchTable".into();
    let app = env.with_tables(broken);
    let body = json!({"token": token, "id": employee.id, "email": employee.email}).to_string();
    let answer = env
        .call_with(
            &app,
            env.route(routes::EMPLOYEES_UPDATE),
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await;
    assert_status(&answer, "application-crash", 500);
    assert!(
        !answer.message().contains("NoSuchTable"),
        "the cause stays in the log"
    );
}

// --- cost ---

#[tokio::test]
async fn an_update_that_keeps_the_email_costs_two_dynamodb_calls_one_of_them_a_write() {
    let (env, token, employee) = setup().await;
    let (_, session) = manager_session(&env, false).await;
    // The first request reads the route registry's switches, cached from then on.
    update(&env, &token, &employee, json!({})).await;
    // A session used a minute ago: its check reads and writes nothing.
    env.advance(60);
    for (caller, extra) in [
        (
            &token,
            json!({"first_name": "Two", "skills": ["x"], "address": {"city": "Austin"}}),
        ),
        (
            &session,
            json!({"last_name": "Calls", "service_area_id": 1, "date_hired": "2020-01-01"}),
        ),
    ] {
        let (before, writes_before) = (env.calls.count(), env.calls.writes());
        let answer = update(&env, caller, &employee, extra).await;
        assert_status(&answer, "action-successful", 200);
        // The caller's token and the record (whose old values the audit record holds),
        // read in one BatchGetItem, and one transaction.
        assert_eq!(env.calls.count() - before, 2, "{answer:?}");
        assert_eq!(env.calls.writes() - writes_before, 1, "{answer:?}");
    }
}

#[tokio::test]
async fn an_update_that_changes_the_email_costs_two_dynamodb_calls() {
    let (env, token, employee) = setup().await;
    // The route registry's switches, a reference entry and the permissions of a role,
    // once read, are kept by the process: the first update reads them.
    let other = env.employee(&[(PlanoAuth, "staff")]).await;
    update(&env, &token, &other, json!({"service_area_id": 2})).await;
    let before = env.calls.count();
    let answer = update(
        &env,
        &token,
        &employee,
        json!({"email": env.unique_email("moved"), "service_area_id": 2}),
    )
    .await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(env.calls.count() - before, 2);
}
