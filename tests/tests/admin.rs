//! The operator tool's commands (`planoauth-admin`), run as the command line runs them,
//! against the local stack; their effects checked through the API.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::Employee;
use planoauth::routes;
use planoauth_tests::{Answer, TestEnv};
use serde_json::json;

async fn update(env: &TestEnv, token: &str, employee: &Employee) -> Answer {
    env.call(
        env.route(routes::EMPLOYEES_UPDATE),
        &json!({ "token": token, "id": employee.id, "email": employee.email }),
    )
    .await
}

#[tokio::test]
async fn application_tokens_are_created_listed_rotated_and_revoked() {
    let env = TestEnv::new().await;
    let employee = env.employee(&[]).await;
    let created = env
        .admin("token create --application planox2 --name billing --permissions employees.update")
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        update(&env, &token, &employee).await.status(),
        "action-successful"
    );

    let listed = env.admin("token list --application planox2").await.unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(entry["name"], "billing");
    assert!(entry.get("token").is_none(), "a listing never shows tokens");

    let rotated = env
        .admin(&format!("token rotate --application planox2 --id {id}"))
        .await
        .unwrap();
    let new_token = rotated["token"].as_str().unwrap().to_owned();
    assert_eq!(
        update(&env, &token, &employee).await.status(),
        "invalid-token"
    );
    assert_eq!(
        update(&env, &new_token, &employee).await.status(),
        "action-successful"
    );

    let new_id = rotated["id"].as_str().unwrap();
    env.admin(&format!("token revoke --application planox2 --id {new_id}"))
        .await
        .unwrap();
    assert_eq!(
        update(&env, &new_token, &employee).await.status(),
        "invalid-token"
    );
    assert!(
        env.admin(&format!("token revoke --application planox2 --id {new_id}"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn granting_a_role_applies_to_open_sessions_at_once() {
    let env = TestEnv::new().await;
    let target = env.employee(&[]).await;
    let user = env.employee(&[(PlanoAuth, "staff")]).await;
    let session = env.session(user.id, PlanoAuth, false).await;
    assert_eq!(
        update(&env, &session, &target).await.status(),
        "permission-denied"
    );

    let granted = env
        .admin(&format!(
            "role grant --user {} --application planoauth --role manager",
            user.id
        ))
        .await
        .unwrap();
    assert_eq!(granted["sessions_refreshed"], 1);
    assert_eq!(
        update(&env, &session, &target).await.status(),
        "action-successful"
    );
}

#[tokio::test]
async fn changing_a_roles_permissions_applies_to_its_holders_sessions() {
    let env = TestEnv::new().await;
    let role = format!("auditor-{}", planoauth::tokens::random_id().to_lowercase());
    env.admin(&format!("role put --application planoauth --role {role}"))
        .await
        .unwrap();
    let target = env.employee(&[]).await;
    let user = env.employee(&[(PlanoAuth, role.as_str())]).await;
    let session = env.session(user.id, PlanoAuth, false).await;
    assert_eq!(
        update(&env, &session, &target).await.status(),
        "permission-denied"
    );

    let changed = env
        .admin(&format!(
            "role put --application planoauth --role {role} --permissions employees.update"
        ))
        .await
        .unwrap();
    assert_eq!(changed["holders"], 1);
    assert_eq!(
        update(&env, &session, &target).await.status(),
        "action-successful"
    );
}

#[tokio::test]
async fn a_users_sessions_can_be_ended() {
    let env = TestEnv::new().await;
    let user = env.employee(&[(PlanoAuth, "manager")]).await;
    let sessions = [
        env.session(user.id, PlanoAuth, false).await,
        env.session(user.id, PlanoAuth, true).await,
    ];
    let ended = env
        .admin(&format!("sessions end --user {}", user.id))
        .await
        .unwrap();
    assert_eq!(ended["sessions_ended"], 2);
    for session in sessions {
        assert_eq!(
            update(&env, &session, &user).await.status(),
            "invalid-token"
        );
    }
}

#[tokio::test]
async fn a_created_admin_chooses_a_password_then_updates_employees() {
    let env = TestEnv::new().await;
    let created = env
        .admin(&format!(
            "create-admin --email {}",
            env.unique_email("admin")
        ))
        .await
        .unwrap();
    let app_token = env.application_token(PlanoAuth, &["sessions.create"]).await;
    let signed_in = env
        .call_encoded(
            env.route(routes::SESSIONS_CREATE),
            &json!({ "token": app_token, "email": created["email"], "password": created["password"] }),
        )
        .await;
    assert_eq!(
        signed_in.status(),
        "action-successful",
        "{}",
        signed_in.body
    );
    let session = signed_in.session()["token"].as_str().unwrap();
    let target = env.employee(&[]).await;
    // The password the tool generated is replaced before anything else.
    assert_eq!(
        update(&env, session, &target).await.status(),
        "password-change-required"
    );
    let changed = env
        .call_encoded(
            env.route(routes::USERS_PASSWORD_UPDATE),
            &json!({
                "token": session,
                "current_password": created["password"],
                "new_password": "granite-Meadow-71-harbour",
            }),
        )
        .await;
    assert_eq!(changed.status(), "action-successful", "{}", changed.body);
    let session = changed.session()["token"].as_str().unwrap();
    assert_eq!(
        update(&env, session, &target).await.status(),
        "action-successful"
    );
}

#[tokio::test]
async fn reference_data_can_be_added() {
    let env = TestEnv::new().await;
    let token = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let employee = env.employee(&[]).await;
    let area = 1000 + i64::from(rand_suffix());
    let body = json!({ "token": token, "id": employee.id, "email": employee.email, "service_area_id": area });
    assert_eq!(
        env.call(env.route(routes::EMPLOYEES_UPDATE), &body)
            .await
            .status(),
        "invalid-param"
    );
    env.admin(&format!(
        "reference put --kind service_area --key {area} --name Waco"
    ))
    .await
    .unwrap();
    assert_eq!(
        env.call(env.route(routes::EMPLOYEES_UPDATE), &body)
            .await
            .status(),
        "action-successful"
    );
}

#[tokio::test]
async fn mistakes_are_reported_not_guessed() {
    let env = TestEnv::new().await;
    for line in [
        "",
        "token create --application planoweb --name x",
        "token create --application planoauth --name x --permissions everything",
        "role grant --user abc --application planoauth --role admin",
        "role grant --user 999999999 --application planoauth --role admin",
        "token list",
        "launch rockets",
    ] {
        assert!(env.admin(line).await.is_err(), "{line}");
    }
}

fn rand_suffix() -> u16 {
    planoauth::tokens::random_id().bytes().fold(0u16, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u16::from(b))
    }) % 50_000
}
