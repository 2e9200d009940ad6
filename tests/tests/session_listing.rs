//! Each account's sessions are listed as items of their own (the account sessions table),
//! so that opening one writes the same whatever the account already has, and ending them
//! all finds every one, including those an earlier release listed in the account's item.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use planoauth::domain::Application::PlanoAuth;
use planoauth::routes;
use planoauth::store::Item;
use planoauth_tests::{TestEnv, assert_status};
use serde_json::json;

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
async fn sessions_an_earlier_release_listed_in_the_account_item_end_with_the_rest() {
    let env = TestEnv::new().await;
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

    // A role change reads every session of the account: the list moves to the table,
    // but for the session that no longer exists.
    env.admin(&format!(
        "role grant --user {} --application planoauth --role admin",
        user.id
    ))
    .await
    .unwrap();
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
