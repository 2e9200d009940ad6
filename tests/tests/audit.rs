//! The audit trail: every change to a person leaves exactly one record, written with the
//! change, saying who did what to which record and how each field changed; a change that
//! fails leaves none; no record holds a password, a token or a hash of either; and the
//! operator reads them with `planoauth-admin audit`.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::clock::{Clock, SystemClock};
use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::{Actor, AuditAction, AuditEntry, Permission, RecordKind};
use planoauth::mail::Mailer;
use planoauth::routes;
use planoauth::store::{Item, number};
use planoauth::tokens;
use planoauth::use_cases::ResetRequests;
use planoauth_tests::{Answer, TestEnv, assert_status, links, update_employee};
use serde_json::{Value, json};
use std::time::Duration;
use users_password_forgot::UsersPasswordForgot;

const INITIAL: &str = "violet-Tide-91-harbor";
const CHOSEN: &str = "quartz-Meadow-64-lantern";
const RESET: &str = "copper-Harbor-38-willow";

/// An application token holding every permission, and its id.
async fn app_token(env: &TestEnv) -> (String, String) {
    let (token, record) = env
        .app
        .db
        .application_tokens()
        .issue(PlanoAuth, "audit", &Permission::ALL, env.now())
        .await
        .unwrap();
    (token, record.id)
}

async fn trail(env: &TestEnv, user_id: i64) -> Vec<AuditEntry> {
    env.app.db.audit().for_user(user_id).await.unwrap()
}

/// The user's audit items as stored, every attribute of them.
async fn stored_items(env: &TestEnv, user_id: i64) -> Vec<Item> {
    env.app
        .db
        .client
        .query()
        .table_name(&env.app.db.tables.audit)
        .key_condition_expression("user_id = :user")
        .expression_attribute_values(":user", number(user_id))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items()
        .to_vec()
}

/// Asserts that none of a user's audit items holds any of `secrets`, nor their
/// account's password hash, nor the SHA-256 of any of them (how tokens are stored).
async fn assert_no_secrets(env: &TestEnv, user_id: i64, secrets: &[&str]) {
    let mut forbidden: Vec<String> = Vec::new();
    for secret in secrets {
        forbidden.push((*secret).to_owned());
        forbidden.push(tokens::hash(secret));
    }
    let account = env.app.db.users().account(user_id).await.unwrap().unwrap();
    forbidden.extend(account.password_hash);
    let items = stored_items(env, user_id).await;
    assert!(!items.is_empty());
    let text = format!("{items:?}");
    for secret in &forbidden {
        assert!(
            !text.contains(secret.as_str()),
            "an audit item holds a secret"
        );
    }
    let shown = env.admin(&format!("audit --user {user_id}")).await.unwrap();
    for secret in &forbidden {
        assert!(!shown.to_string().contains(secret.as_str()));
    }
}

fn session_token(answer: &Answer) -> String {
    answer.session()["token"].as_str().unwrap().to_owned()
}

fn assert_from_the_api(entry: &AuditEntry) {
    assert!(
        entry.request_id.starts_with("local-"),
        "API Gateway's request id: {}",
        entry.request_id
    );
}

#[tokio::test]
async fn creating_a_photographer_records_every_field_as_new() {
    let env = TestEnv::new().await;
    let (token, token_id) = app_token(&env).await;
    let email = env.unique_email("photographer");
    let params = json!({
        "token": token, "email": email, "first_name": "Dorothea", "last_name": "Lange",
        "password": INITIAL, "phone": "+1 555 010 2000",
    });
    let created = env
        .call_encoded(env.route(routes::PHOTOGRAPHERS_CREATE), &params)
        .await;
    assert_status(&created, "action-successful", 200);
    let id = created.data()["id"].as_i64().unwrap();

    let [entry] = trail(&env, id).await.try_into().unwrap();
    assert_eq!(entry.action, AuditAction::EmployeeCreated);
    assert_eq!((entry.user_id, entry.record), (id, RecordKind::Employee));
    assert_eq!(
        entry.actor,
        Actor::Application {
            token_id,
            application: PlanoAuth
        }
    );
    assert_eq!(entry.at, env.now());
    assert_from_the_api(&entry);
    for (field, value) in [
        ("email", json!(email)),
        ("first_name", json!("Dorothea")),
        ("active", json!(true)),
        ("roles.planoauth", json!("staff")),
    ] {
        assert_eq!(
            entry.changes[field].old, None,
            "{field}: a create has no old value"
        );
        assert_eq!(entry.changes[field].new, Some(value), "{field}");
    }
    assert!(!entry.changes.contains_key("password_hash"));
    assert_no_secrets(&env, id, &[INITIAL, &token]).await;
}

#[tokio::test]
async fn an_update_records_what_changed_and_a_deactivation_is_named_so() {
    let env = TestEnv::new().await;
    let (token, token_id) = app_token(&env).await;
    let employee = env.employee(&[(PlanoAuth, "staff")]).await;
    let manager = env.employee(&[(PlanoAuth, "manager")]).await;
    let session = env.session(manager.id, PlanoAuth, false).await;

    let renamed = update_employee(
        &env,
        &session,
        &employee,
        json!({"first_name": "Grace", "last_name": "Lovelace", "phone": null, "skills": ["drone"]}),
    )
    .await;
    assert_status(&renamed, "action-successful", 200);
    let deactivated = update_employee(&env, &token, &employee, json!({"active": false})).await;
    assert_status(&deactivated, "action-successful", 200);

    let entries = trail(&env, employee.id).await;
    let actions: Vec<AuditAction> = entries.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::EmployeeCreated,
            AuditAction::EmployeeUpdated,
            AuditAction::EmployeeDeactivated
        ]
    );
    let update = &entries[1];
    assert_eq!(
        update.actor,
        Actor::User {
            user_id: Some(manager.id),
            application: PlanoAuth
        }
    );
    assert_eq!(update.record, RecordKind::Employee);
    assert_from_the_api(update);
    assert_eq!(
        update.changes.keys().collect::<Vec<_>>(),
        ["first_name", "phone", "skills"],
        "only what differs: the last name was already Lovelace"
    );
    assert_eq!(update.changes["first_name"].old, Some(json!("Ada")));
    assert_eq!(update.changes["first_name"].new, Some(json!("Grace")));
    assert_eq!(update.changes["phone"].old, Some(json!("+1 555 010 0000")));
    assert_eq!(update.changes["phone"].new, None, "cleared");
    assert_eq!(update.changes["skills"].new, Some(json!(["drone"])));

    let deactivation = &entries[2];
    assert_eq!(
        deactivation.actor,
        Actor::Application {
            token_id,
            application: PlanoAuth
        }
    );
    assert_eq!(deactivation.changes.len(), 1);
    assert_eq!(deactivation.changes["active"].old, Some(json!(true)));
    assert_eq!(deactivation.changes["active"].new, Some(json!(false)));
    assert_ne!(update.request_id, deactivation.request_id);
    assert_no_secrets(&env, employee.id, &[&token, &session]).await;
}

#[tokio::test]
async fn a_change_that_fails_leaves_no_record() {
    let env = TestEnv::new().await;
    let (token, _) = app_token(&env).await;
    let employee = env.employee(&[]).await;
    let other = env.employee(&[]).await;
    let before = trail(&env, employee.id).await.len();

    let taken = update_employee(
        &env,
        &token,
        &employee,
        json!({"email": other.email, "first_name": "Mallory"}),
    )
    .await;
    assert_status(&taken, "invalid-param", 400);
    let backwards = update_employee(
        &env,
        &token,
        &employee,
        json!({"date_hired": "2024-02-01", "date_off_boarded": "2024-01-01"}),
    )
    .await;
    assert_status(&backwards, "invalid-param", 400);
    let unknown_area =
        update_employee(&env, &token, &employee, json!({"service_area_id": 999})).await;
    assert_status(&unknown_area, "invalid-param", 400);

    assert_eq!(trail(&env, employee.id).await.len(), before);
    assert_eq!(trail(&env, other.id).await.len(), 1, "its creation only");
    let taken_photographer = json!({
        "token": token, "email": other.email, "first_name": "Dorothea", "last_name": "Lange",
        "password": INITIAL, "phone": "+1 555 010 2000",
    });
    let refused = env
        .call_encoded(env.route(routes::PHOTOGRAPHERS_CREATE), &taken_photographer)
        .await;
    assert_status(&refused, "invalid-param", 400);
    assert_eq!(trail(&env, other.id).await.len(), 1);
}

#[tokio::test]
async fn registering_a_client_records_the_client() {
    let env = TestEnv::new().await;
    let (token, token_id) = app_token(&env).await;
    let email = env.unique_email("client");
    let params = json!({
        "token": token, "email": email, "password": INITIAL, "first_name": "Ansel",
        "last_name": "Adams", "phone": "+1 555 010 3000",
    });
    let registered = env
        .call_encoded(env.route(routes::USERS_CLIENT_REGISTER), &params)
        .await;
    assert_status(&registered, "action-successful", 200);
    let id = registered.data()["id"].as_i64().unwrap();

    let [entry] = trail(&env, id).await.try_into().unwrap();
    assert_eq!(entry.action, AuditAction::ClientRegistered);
    assert_eq!(entry.record, RecordKind::Client);
    assert_eq!(
        entry.actor,
        Actor::Application {
            token_id,
            application: PlanoAuth
        }
    );
    assert_from_the_api(&entry);
    assert_eq!(entry.changes["email"].new, Some(json!(email)));
    assert_eq!(entry.changes["last_name"].new, Some(json!("Adams")));
    assert_eq!(entry.changes["roles.planoauth"].new, Some(json!("client")));
    assert_no_secrets(&env, id, &[INITIAL, &token]).await;
}

#[tokio::test]
async fn changing_and_resetting_a_password_record_that_it_changed_and_nothing_of_it() {
    let env = TestEnv::new().await;
    let (token, token_id) = app_token(&env).await;
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(INITIAL))
        .await;
    let signed_in = env
        .call_encoded(
            env.route(routes::SESSIONS_CREATE),
            &json!({ "token": token, "email": employee.email, "password": INITIAL }),
        )
        .await;
    assert_status(&signed_in, "action-successful", 200);
    let session = session_token(&signed_in);
    let changed = env
        .call_encoded(
            env.route(routes::USERS_PASSWORD_UPDATE),
            &json!({ "token": session, "current_password": INITIAL, "new_password": CHOSEN }),
        )
        .await;
    assert_status(&changed, "action-successful", 200);
    let new_session = session_token(&changed);

    let forgot = UsersPasswordForgot {
        mailer: Mailer::new(env.ses.clone(), planoauth_tests::SENDER, links()),
        pacing: ResetRequests {
            answer_after: Duration::ZERO,
            ..ResetRequests::default()
        },
    };
    let asked = env
        .call(&forgot, &json!({ "token": token, "email": employee.email }))
        .await;
    assert_status(&asked, "action-successful", 200);
    let reset_token = env.emailed_reset_token(&employee.email).await;
    let reset = env
        .call_encoded(
            env.route(routes::USERS_PASSWORD_RESET),
            &json!({ "token": token, "reset_token": reset_token, "new_password": RESET }),
        )
        .await;
    assert_status(&reset, "action-successful", 200);

    // A refused change (a wrong current password) leaves nothing.
    let wrong = env
        .call_encoded(
            env.route(routes::SESSIONS_CREATE),
            &json!({ "token": token, "email": employee.email, "password": RESET }),
        )
        .await;
    let refused = env
        .call_encoded(
            env.route(routes::USERS_PASSWORD_UPDATE),
            &json!({ "token": session_token(&wrong), "current_password": CHOSEN, "new_password": INITIAL }),
        )
        .await;
    assert_status(&refused, "invalid-param", 400);

    let entries = trail(&env, employee.id).await;
    let [_, change, reset_entry] = entries.try_into().unwrap();
    assert_eq!(change.action, AuditAction::PasswordChanged);
    assert_eq!(change.record, RecordKind::User);
    assert_eq!(
        change.actor,
        Actor::User {
            user_id: Some(employee.id),
            application: PlanoAuth
        }
    );
    assert_from_the_api(&change);
    assert_eq!(change.changes.keys().collect::<Vec<_>>(), ["password"]);
    assert_eq!(change.changes["password"].old, None);
    assert_eq!(change.changes["password"].new, None);
    assert_eq!(reset_entry.action, AuditAction::PasswordReset);
    assert_eq!(
        reset_entry.actor,
        Actor::Application {
            token_id,
            application: PlanoAuth
        }
    );
    assert_no_secrets(
        &env,
        employee.id,
        &[
            INITIAL,
            CHOSEN,
            RESET,
            &token,
            &session,
            &new_session,
            &reset_token,
        ],
    )
    .await;
}

#[tokio::test]
async fn the_operators_changes_are_recorded_and_read_back_by_user_and_by_time() {
    let env = TestEnv::new().await;
    // The tool runs on the system clock.
    let since = SystemClock.now();
    let since_seconds = since;
    let admin_email = env.unique_email("admin");
    let created = env
        .admin(&format!("create-admin --email {admin_email}"))
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    env.admin(&format!(
        "role grant --user {id} --application planoauth --role manager"
    ))
    .await
    .unwrap();
    env.session(id, PlanoAuth, false).await;
    env.session(id, PlanoAuth, true).await;
    let ended = env
        .admin(&format!("sessions end --user {id}"))
        .await
        .unwrap();
    assert_eq!(ended["sessions_ended"], 2);
    assert!(
        env.admin("role grant --user 999999999 --application planoauth --role admin")
            .await
            .is_err()
    );

    let shown = env.admin(&format!("audit --user {id}")).await.unwrap();
    let shown = shown.as_array().unwrap();
    let actions: Vec<&str> = shown
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["employee.created", "role.granted", "sessions.ended"],
        "oldest first"
    );
    let os_user = std::env::var("USER").ok().filter(|u| !u.is_empty());
    for entry in shown {
        assert_eq!(entry["actor"]["kind"], "operator");
        assert_eq!(entry["actor"]["os_user"], json!(os_user));
        assert!(entry["request_id"].as_str().unwrap().starts_with("admin-"));
        assert_eq!(entry["user_id"], id);
        assert!(entry["time"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(shown[0]["record"], json!({ "kind": "employee", "id": id }));
    assert_eq!(shown[0]["changes"]["email"], json!({ "new": admin_email }));
    assert_eq!(
        shown[1]["changes"],
        json!({ "roles.planoauth": { "old": "admin", "new": "manager" } })
    );
    assert_eq!(shown[1]["record"]["kind"], "user");
    assert_eq!(shown[2]["count"], 2);
    let password = created["password"].as_str().unwrap();
    assert_no_secrets(&env, id, &[password]).await;

    // By time: RFC 3339 or Unix seconds, the same records among everyone's.
    let rfc3339 = planoauth::clock::rfc3339(since);
    for since in [since.to_string(), rfc3339] {
        let all = env.admin(&format!("audit --since {since}")).await.unwrap();
        let mine: Vec<&Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["user_id"] == id)
            .collect();
        assert_eq!(mine, shown.iter().collect::<Vec<_>>(), "--since {since}");
        let times: Vec<i64> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["at"].as_i64().unwrap())
            .collect();
        assert!(
            times.iter().all(|at| *at >= since_seconds),
            "--since {since}"
        );
        assert!(times.is_sorted(), "oldest first");
    }
    let later = env
        .admin(&format!("audit --since {}", SystemClock.now() + 1))
        .await
        .unwrap();
    assert!(!later.as_array().unwrap().iter().any(|e| e["user_id"] == id));
    assert!(env.admin("audit").await.is_err(), "--user or --since");
    assert!(env.admin("audit --since yesterday").await.is_err());
}

#[tokio::test]
async fn racing_updates_of_one_field_each_record_the_value_they_replaced() {
    let env = TestEnv::new().await;
    let (token, _) = app_token(&env).await;
    let employee = env.employee(&[]).await;
    let names = ["Grace", "Hedy", "Katherine", "Margaret"];
    let answers = futures_util::future::join_all(
        names
            .iter()
            .map(|name| update_employee(&env, &token, &employee, json!({ "first_name": name }))),
    )
    .await;
    for answer in &answers {
        assert_status(answer, "action-successful", 200);
    }
    // In the order they were written, each replaced the one before it.
    let entries = trail(&env, employee.id).await;
    let mut current = json!("Ada");
    for entry in &entries[1..] {
        let change = &entry.changes["first_name"];
        assert_eq!(change.old.as_ref(), Some(&current));
        current = change.new.clone().unwrap();
    }
    assert_eq!(entries.len(), 1 + names.len());
    let stored = env.app.db.employees().find(employee.id).await.unwrap();
    assert_eq!(stored.unwrap().first_name.map(Value::from), Some(current));
}

#[tokio::test]
async fn a_list_field_changed_again_records_the_list_it_replaced() {
    let env = TestEnv::new().await;
    let (token, _) = app_token(&env).await;
    let employee = env.employee(&[]).await;
    for skills in [
        json!(["drone"]),
        json!(["drone", "aerial"]),
        json!(["video"]),
    ] {
        let answer = update_employee(&env, &token, &employee, json!({ "skills": skills })).await;
        assert_status(&answer, "action-successful", 200);
    }
    let entries = trail(&env, employee.id).await;
    let olds: Vec<Option<Value>> = entries[1..]
        .iter()
        .map(|e| e.changes["skills"].old.clone())
        .collect();
    assert_eq!(
        olds,
        [
            None,
            Some(json!(["drone"])),
            Some(json!(["drone", "aerial"]))
        ]
    );
}
