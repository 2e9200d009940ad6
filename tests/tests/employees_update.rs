//! `POST /api/v1/employees/update`, against the local DynamoDB, through the entry point
//! Lambda calls.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use employees_update::EmployeesUpdate;
use planoauth::domain::Application::{self, PlanoAuth, PlanoOrder};
use planoauth::domain::Employee;
use planoauth::domain::{ABSOLUTE_LIFETIME, IDLE_LIFETIME};
use planoauth_tests::{
    Answer, TestEnv, assert_one_won_the_address, assert_status, assert_the_race_met_conflicts,
    injected, race_faults, set_faults,
};
use serde_json::{Value, json};

const HOUR: i64 = 60 * 60;

/// An environment with an admin application token and an employee to update.
async fn setup() -> (TestEnv, String, Employee) {
    let env = TestEnv::new().await;
    let token = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let employee = env.employee(&[(PlanoAuth, "staff")]).await;
    (env, token, employee)
}

async fn update(env: &TestEnv, token: &str, employee: &Employee, extra: Value) -> Answer {
    let mut body = json!({"token": token, "id": employee.id, "email": employee.email});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    env.call(&EmployeesUpdate, &body).await
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
        let answer = env.call(&EmployeesUpdate, &body).await;
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
            &EmployeesUpdate,
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
            &EmployeesUpdate,
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
                &EmployeesUpdate,
                &[("content-type", content_type)],
                body.as_bytes(),
            )
            .await;
        assert_status(&answer, "invalid-content-type", 400);
    }
}

// --- sessions ---

/// An employee whose role in planoauth may update employees, with a session.
async fn manager_session(env: &TestEnv, remember_me: bool) -> (Employee, String) {
    let manager = env.employee(&[(PlanoAuth, "manager")]).await;
    let session = env.session(manager.id, PlanoAuth, remember_me).await;
    (manager, session)
}

#[tokio::test]
async fn a_session_token_returns_the_session_in_session_view() {
    let (env, _, employee) = setup().await;
    let (manager, session) = manager_session(&env, false).await;
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
async fn session_lasts_until_seven_days_and_expires_after() {
    let (env, _, employee) = setup().await;
    let (_, session) = manager_session(&env, false).await;
    // Used every 56 hours, so the idle window never closes first.
    for _ in 0..3 {
        env.advance(56 * HOUR);
        assert_status(
            &update(&env, &session, &employee, json!({})).await,
            "action-successful",
            200,
        );
    }
    // Exactly seven days old: not older than seven days.
    env.advance(ABSOLUTE_LIFETIME - 3 * 56 * HOUR);
    assert_status(
        &update(&env, &session, &employee, json!({})).await,
        "action-successful",
        200,
    );
    env.advance(1);
    let expired = update(&env, &session, &employee, json!({})).await;
    assert_status(&expired, "session-expired", 401);
    assert!(
        expired.session().is_object(),
        "the expired session is returned"
    );
}

#[tokio::test]
async fn session_expires_after_72_hours_idle() {
    let (env, _, employee) = setup().await;
    let (_, live) = manager_session(&env, false).await;
    let (_, idle) = manager_session(&env, false).await;
    env.advance(IDLE_LIFETIME);
    assert_status(
        &update(&env, &live, &employee, json!({})).await,
        "action-successful",
        200,
    );
    env.advance(1);
    assert_status(
        &update(&env, &idle, &employee, json!({})).await,
        "session-expired",
        401,
    );
}

#[tokio::test]
async fn each_use_extends_the_idle_window() {
    let (env, _, employee) = setup().await;
    let (_, session) = manager_session(&env, false).await;
    env.advance(IDLE_LIFETIME - HOUR);
    assert_status(
        &update(&env, &session, &employee, json!({})).await,
        "action-successful",
        200,
    );
    env.advance(IDLE_LIFETIME - HOUR);
    assert_status(
        &update(&env, &session, &employee, json!({})).await,
        "action-successful",
        200,
    );
    env.advance(IDLE_LIFETIME + 1);
    assert_status(
        &update(&env, &session, &employee, json!({})).await,
        "session-expired",
        401,
    );
}

#[tokio::test]
async fn an_expired_session_is_never_revived() {
    let (env, _, employee) = setup().await;
    let (_, session) = manager_session(&env, false).await;
    env.advance(IDLE_LIFETIME + 1);
    let first = update(
        &env,
        &session,
        &employee,
        json!({"session_view": "internalapps_view"}),
    )
    .await;
    assert_status(&first, "session-expired", 401);
    let last_used = first.session()["last_used_at"].clone();
    let again = update(
        &env,
        &session,
        &employee,
        json!({"session_view": "internalapps_view"}),
    )
    .await;
    assert_status(&again, "session-expired", 401);
    assert_eq!(
        again.session()["last_used_at"],
        last_used,
        "a refused use is not recorded"
    );
}

#[tokio::test]
async fn remember_me_sessions_do_not_expire() {
    let (env, _, employee) = setup().await;
    let (_, session) = manager_session(&env, true).await;
    env.advance(30 * 24 * HOUR);
    let answer = update(&env, &session, &employee, json!({})).await;
    assert_status(&answer, "action-successful", 200);
    assert_eq!(answer.session()["remember_me"], true);
    assert_eq!(answer.session()["expires_at"], Value::Null);
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
            &EmployeesUpdate,
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
async fn an_update_that_keeps_the_email_costs_two_dynamodb_calls() {
    let (env, token, employee) = setup().await;
    let (_, session) = manager_session(&env, false).await;
    // The first request reads the route registry's switches, cached from then on.
    update(&env, &token, &employee, json!({})).await;
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
        let before = env.calls.count();
        let answer = update(&env, caller, &employee, extra).await;
        assert_status(&answer, "action-successful", 200);
        assert_eq!(env.calls.count() - before, 2, "{answer:?}");
    }
}

#[tokio::test]
async fn an_update_that_changes_the_email_costs_three_dynamodb_calls() {
    let (env, token, employee) = setup().await;
    // The route registry's switches and a reference entry, once read, are kept by the
    // process: the first update reads both.
    let other = env.employee(&[]).await;
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
    assert_eq!(env.calls.count() - before, 3);
}
