//! The scheduled session cleanup, against its own set of tables on the local stack (it
//! deletes every expired session it finds, so it must not see other tests' sessions).

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use lambda_runtime::{Context, LambdaEvent};
use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::{ABSOLUTE_LIFETIME, IDLE_LIFETIME};
use planoauth::store::sessions::Check;
use planoauth_tests::{TestEnv, repository_root};

const HOUR: i64 = 60 * 60;

async fn isolated_env() -> TestEnv {
    TestEnv::with_prefix(&format!(
        "planoauth-cleanup-{}-",
        planoauth::tokens::random_id()
    ))
    .await
}

/// Opens a session `age` seconds ago, used last `idle` seconds ago (kept alive in between).
async fn session_aged(env: &TestEnv, now: i64, age: i64, idle: i64, remember_me: bool) -> String {
    env.clock.set(now - age);
    let (token, _) =
        planoauth::use_cases::open_session_without_sign_in(&env.app, None, PlanoAuth, remember_me)
            .await
            .unwrap();
    let mut used_at = now - age;
    while used_at + 70 * HOUR < now - idle {
        used_at += 70 * HOUR;
        env.clock.set(used_at);
        assert!(matches!(
            env.app
                .db
                .sessions()
                .check_and_touch(&token, used_at)
                .await
                .unwrap(),
            Check::Valid(_)
        ));
    }
    if used_at < now - idle {
        env.clock.set(now - idle);
        env.app
            .db
            .sessions()
            .check_and_touch(&token, now - idle)
            .await
            .unwrap();
    }
    token
}

async fn exists(env: &TestEnv, token: &str) -> bool {
    let item = env
        .app
        .db
        .client
        .get_item()
        .table_name(&env.app.db.tables.sessions)
        .key(
            "token_hash",
            aws_sdk_dynamodb::types::AttributeValue::S(planoauth::tokens::hash(token)),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    item.item().is_some()
}

#[tokio::test]
async fn two_concurrent_runs_delete_exactly_the_expired_sessions() {
    let env = isolated_env().await;
    let now = env.now();
    let mut expired = Vec::new();
    let mut kept = Vec::new();
    for _ in 0..6 {
        // Older than seven days, though used within the last 72 hours.
        expired.push(session_aged(&env, now, ABSOLUTE_LIFETIME + HOUR, 20 * HOUR, false).await);
        // Unused for more than 72 hours.
        expired.push(session_aged(&env, now, 80 * HOUR, IDLE_LIFETIME + 60, false).await);
        // remember_me: never expires.
        kept.push(session_aged(&env, now, 30 * 24 * HOUR, 20 * 24 * HOUR, true).await);
        // Live: young and recently used, including right at both boundaries.
        kept.push(session_aged(&env, now, 2 * HOUR, HOUR, false).await);
        kept.push(session_aged(&env, now, 100 * HOUR, IDLE_LIFETIME, false).await);
    }
    env.clock.set(now);

    let event = || LambdaEvent::new(serde_json::json!({}), Context::default());
    let (first, second) = tokio::join!(
        sessions_cleanup::handle(&env.app, event()),
        sessions_cleanup::handle(&env.app, event()),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(first.complete && second.complete);
    assert_eq!(
        first.deleted + second.deleted,
        expired.len(),
        "each expired session deleted once"
    );

    for token in &expired {
        assert!(!exists(&env, token).await, "an expired session is gone");
    }
    for token in &kept {
        assert!(
            exists(&env, token).await,
            "a live or remember-me session stays"
        );
    }

    let again = sessions_cleanup::handle(&env.app, event()).await.unwrap();
    assert_eq!(again.deleted, 0, "a repeated run finds nothing more");
}

#[tokio::test]
async fn the_scheduled_sample_event_runs_the_cleanup() {
    let env = isolated_env().await;
    let text =
        std::fs::read_to_string(repository_root().join("events/sessions-cleanup.json")).unwrap();
    let event: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    let report = sessions_cleanup::handle(&env.app, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(report.complete);
}
