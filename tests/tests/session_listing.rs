//! Each account's sessions are listed as items of their own (the account sessions table),
//! so that opening one writes the same whatever the account already has, and ending them
//! all finds every one, including those an earlier release listed in the account's item.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use planoauth::domain::Application::PlanoAuth;
use planoauth::routes;
use planoauth::store::Item;
use planoauth_tests::{Answer, TestEnv, assert_status, injected, set_faults};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "quiet-Lantern-58-meadow";

async fn account_item(env: &TestEnv, user_id: i64) -> Item {
    let output = env
        .app
        .db
        .client
        .get_item()
        .table_name(&env.app.db.tables.users)
        .key("id", AttributeValue::N(user_id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    output.item.unwrap()
}

/// The listing items of a user's sessions.
async fn listed(env: &TestEnv, user_id: i64) -> Vec<Item> {
    let output = env
        .app
        .db
        .client
        .query()
        .table_name(&env.app.db.tables.account_sessions)
        .key_condition_expression("user_id = :user")
        .expression_attribute_values(":user", AttributeValue::N(user_id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    output.items.unwrap_or_default()
}

async fn assert_ended(env: &TestEnv, session: &str) {
    let shown = env
        .call(
            env.route(routes::SESSIONS_SHOW),
            &json!({ "token": session, "session_view": "internalapps_view" }),
        )
        .await;
    assert_status(&shown, "invalid-token", 401);
}

fn listing_of<'a>(listing: &'a [Item], token: &str) -> Option<&'a Item> {
    let hash = planoauth::tokens::hash(token);
    listing
        .iter()
        .find(|item| item["token_hash"] == AttributeValue::S(hash.clone()))
}

#[tokio::test]
async fn a_sign_in_lists_its_session_and_leaves_the_account_item_as_it_was() {
    let env = TestEnv::new().await;
    let token = env.application_token(PlanoAuth, &["sessions.create"]).await;
    let manager = env
        .employee_with_password(&[(PlanoAuth, "manager")], Some(PASSWORD))
        .await;
    let before = account_item(&env, manager.id).await;

    let mut sessions = Vec::new();
    for remember_me in [false, true] {
        let answer = env
            .call_encoded(
                env.route(routes::SESSIONS_CREATE),
                &json!({ "token": token, "email": manager.email, "password": PASSWORD,
                         "remember_me": remember_me }),
            )
            .await;
        assert_status(&answer, "action-successful", 200);
        sessions.push(answer.session()["token"].as_str().unwrap().to_owned());
    }

    assert_eq!(account_item(&env, manager.id).await, before);
    let listing = listed(&env, manager.id).await;
    assert_eq!(listing.len(), 2);
    let expiring = listing_of(&listing, &sessions[0]).unwrap();
    assert!(matches!(
        expiring.get("expires"),
        Some(AttributeValue::N(_))
    ));
    let remembered = listing_of(&listing, &sessions[1]).unwrap();
    assert_eq!(remembered.get("expires"), None, "remember_me never expires");

    let signed_out = env
        .call(
            env.route(routes::SESSIONS_DELETE),
            &json!({ "token": sessions[0] }),
        )
        .await;
    assert_eq!(signed_out.data()["ended"], 1);
    let listing = listed(&env, manager.id).await;
    assert!(listing_of(&listing, &sessions[0]).is_none());
    assert!(listing_of(&listing, &sessions[1]).is_some());
}

#[tokio::test]
async fn sessions_an_earlier_release_listed_in_the_account_item_move_to_the_table_once() {
    // Tables of its own: the move reads every account.
    let env = TestEnv::isolated("legacy-listing").await;
    let user = env.employee(&[(PlanoAuth, "manager")]).await;
    let current = env.session(user.id, PlanoAuth, false).await;
    // As an earlier release listed it: in the account's item, with no listing item.
    let legacy = env.session(user.id, PlanoAuth, true).await;
    let legacy_hash = planoauth::tokens::hash(&legacy);
    let db = &env.app.db;
    db.client
        .delete_item()
        .table_name(&db.tables.account_sessions)
        .key("user_id", AttributeValue::N(user.id.to_string()))
        .key("token_hash", AttributeValue::S(legacy_hash.clone()))
        .send()
        .await
        .unwrap();
    db.client
        .update_item()
        .table_name(&db.tables.users)
        .key("id", AttributeValue::N(user.id.to_string()))
        .update_expression("ADD sessions :hash")
        // With a session that ended while listed there, as its sign-outs left them.
        .expression_attribute_values(
            ":hash",
            AttributeValue::Ss(vec![legacy_hash, planoauth::tokens::hash("signed-out")]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(listed(&env, user.id).await.len(), 1);

    // The operator's one-off move after the upgrade: the list moves to the table, but for
    // the session that no longer exists. The request paths never read the old list.
    let moved = env.admin("migrate session-listings").await.unwrap();
    assert_eq!(moved, json!({ "accounts": 1, "sessions_listed": 1 }));
    assert_eq!(account_item(&env, user.id).await.get("sessions"), None);
    let listing = listed(&env, user.id).await;
    assert_eq!(listing.len(), 2);
    assert_eq!(listing_of(&listing, &legacy).unwrap().get("expires"), None);

    let everywhere = env
        .call(
            env.route(routes::SESSIONS_DELETE),
            &json!({ "token": current, "all": true }),
        )
        .await;
    assert_status(&everywhere, "action-successful", 200);
    assert_eq!(everywhere.data()["ended"], 2);
    for session in [&current, &legacy] {
        assert_ended(&env, session).await;
    }
    assert_eq!(account_item(&env, user.id).await.get("sessions"), None);
    assert_eq!(listed(&env, user.id).await, Vec::<Item>::new());
}

#[tokio::test]
async fn an_operator_ends_more_sessions_than_one_transaction_holds() {
    let env = TestEnv::new().await;
    let user = env.employee(&[(PlanoAuth, "manager")]).await;
    let mut sessions = Vec::new();
    for n in 0..60 {
        sessions.push(env.session(user.id, PlanoAuth, n % 2 == 0).await);
    }
    let ended = env
        .admin(&format!("sessions end --user {}", user.id))
        .await
        .unwrap();
    assert_eq!(ended["sessions_ended"], 60);
    assert_eq!(listed(&env, user.id).await, Vec::<Item>::new());
    for session in [&sessions[0], &sessions[59]] {
        assert_ended(&env, session).await;
    }
}

async fn sign_in_params(env: &TestEnv, email: &str) -> Value {
    let token = env.application_token(PlanoAuth, &["sessions.create"]).await;
    json!({ "token": token, "email": email, "password": PASSWORD })
}

/// Signs in with `params` (and `key`, if given), its transaction applied and its answer
/// held (1.5 s) while `change` writes the account or the employee underneath it,
/// straight to the table: as if the change's ending had queried the listing before the
/// sign-in's transaction reached it, and so missed the session. The sign-in's answer.
async fn sign_in_across(
    env: &TestEnv,
    params: &Value,
    key: Option<&str>,
    change: impl Future<Output = ()>,
) -> Answer {
    let stalls = || async { injected(&env.prefix).await["stalls"].as_u64().unwrap_or(0) };
    let stalls_before = stalls().await;
    set_faults(
        &env.prefix,
        json!({ "stall_ms": 1500, "stall_next": { "operation": "TransactWriteItems", "count": 1 } }),
    )
    .await;
    let sign_in = async {
        let route = env.route(routes::SESSIONS_CREATE);
        match key {
            Some(key) => env.call_encoded_with_key(route, params, key).await,
            None => env.call_encoded(route, params).await,
        }
    };
    let change_underneath = async {
        while stalls().await == stalls_before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        change.await;
    };
    tokio::join!(sign_in, change_underneath).0
}

/// Sets one attribute of the item with this `id` in `table`.
async fn set_attribute(env: &TestEnv, table: &str, id: i64, name: &str, value: AttributeValue) {
    env.app
        .db
        .client
        .update_item()
        .table_name(table)
        .key("id", AttributeValue::N(id.to_string()))
        .update_expression("SET #name = :value")
        .expression_attribute_names("#name", name)
        .expression_attribute_values(":value", value)
        .send()
        .await
        .unwrap();
}

/// The sessions a user has in the sessions table, listed or not.
async fn sessions_of(env: &TestEnv, user_id: i64) -> Vec<Item> {
    let user = AttributeValue::N(user_id.to_string());
    let sessions = env.scan(&env.app.db.tables.sessions).await;
    sessions
        .into_iter()
        .filter(|session| session.get("user_id") == Some(&user))
        .collect()
}

/// Asserts that the user has no session left: none listed, none in the sessions table.
async fn assert_no_session(env: &TestEnv, user_id: i64) {
    assert!(listed(env, user_id).await.is_empty());
    assert!(sessions_of(env, user_id).await.is_empty());
}

/// Deactivates the employee straight in the table (no ending of their sessions follows).
fn deactivate(env: &TestEnv, id: i64) -> impl Future<Output = ()> {
    let employees = &env.app.db.tables.employees;
    set_attribute(env, employees, id, "active", AttributeValue::Bool(false))
}

#[tokio::test]
async fn a_sign_in_is_refused_and_its_session_ended_if_the_password_changed_before_it_returned() {
    let env = TestEnv::isolated("confirm-password").await;
    let manager = env
        .employee_with_password(&[(PlanoAuth, "manager")], Some(PASSWORD))
        .await;
    let users = &env.app.db.tables.users;
    let changed = AttributeValue::S(planoauth::passwords::hash("another-Lantern-59").unwrap());
    let change = set_attribute(&env, users, manager.id, "password_hash", changed);
    let params = sign_in_params(&env, &manager.email).await;
    let answer = sign_in_across(&env, &params, None, change).await;
    assert_status(&answer, "invalid-param", 400);
    assert_no_session(&env, manager.id).await;
}

#[tokio::test]
async fn a_sign_in_is_refused_and_its_session_ended_if_the_employee_was_deactivated_before_it_returned()
 {
    let env = TestEnv::isolated("confirm-active").await;
    let manager = env
        .employee_with_password(&[(PlanoAuth, "manager")], Some(PASSWORD))
        .await;
    let change = deactivate(&env, manager.id);
    let params = sign_in_params(&env, &manager.email).await;
    let answer = sign_in_across(&env, &params, None, change).await;
    assert_status(&answer, "permission-denied", 403);
    assert_no_session(&env, manager.id).await;
}

#[tokio::test]
async fn a_repeated_sign_in_finds_its_session_ended_if_the_employee_was_deactivated_before_it_returned()
 {
    let env = TestEnv::isolated("confirm-repeat").await;
    let manager = env
        .employee_with_password(&[(PlanoAuth, "manager")], Some(PASSWORD))
        .await;
    let change = deactivate(&env, manager.id);
    let key = "confirm-repeat-0000000000000001";
    // The first request with the key opens the session; the one across the change
    // repeats it.
    let params = sign_in_params(&env, &manager.email).await;
    let first = env
        .call_encoded_with_key(env.route(routes::SESSIONS_CREATE), &params, key)
        .await;
    assert_status(&first, "action-successful", 200);
    let answer = sign_in_across(&env, &params, Some(key), change).await;
    assert_status(&answer, "invalid-param", 400);
    assert!(
        answer.body["message"].as_str().unwrap().contains("ended"),
        "{:?}",
        answer.body
    );
    assert_no_session(&env, manager.id).await;
}

#[tokio::test]
async fn a_sign_in_is_answered_busy_and_changes_nothing_if_a_role_changed_before_it_returned() {
    let env = TestEnv::isolated("confirm-role").await;
    let manager = env
        .employee_with_password(&[(PlanoAuth, "manager")], Some(PASSWORD))
        .await;
    let users = &env.app.db.tables.users;
    // To `staff`, straight to the table: no refresh of the account's sessions follows,
    // as if it had queried them before this one was listed.
    let staff =
        AttributeValue::M([("planoauth".to_owned(), AttributeValue::S("staff".into()))].into());
    let change = set_attribute(&env, users, manager.id, "roles", staff);
    let key = "confirm-role-00000000000000001";
    let params = sign_in_params(&env, &manager.email).await;
    let answer = sign_in_across(&env, &params, Some(key), change).await;
    assert_status(&answer, "record-busy", 409);
    assert_no_session(&env, manager.id).await;

    // Nothing was changed, the key included: trying again with it signs in as `staff`.
    let again = env
        .call_encoded_with_key(env.route(routes::SESSIONS_CREATE), &params, key)
        .await;
    assert_status(&again, "action-successful", 200);
    assert!(!again.replayed);
    let sessions = sessions_of(&env, manager.id).await;
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].get("permissions"), None, "staff may do nothing");
}
