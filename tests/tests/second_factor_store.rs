//! The account's second factor as stored, against the local stack (its transaction
//! conflicts on): TOTP turned on once, each code's step accepted once even when requests
//! race with it, recovery codes used once, and turned off only as it was turned on.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::TransactWriteItem;
use planoauth::domain::{CodeUse, STEP_SECONDS, Totp, new_recovery_codes, recovery_code_hash};
use planoauth::dynamo::{Outcome, Transaction};
use planoauth_tests::TestEnv;

async fn run(env: &TestEnv, step: TransactWriteItem) -> Outcome<()> {
    let mut transaction = Transaction::default();
    transaction.push((), step);
    transaction.run(&env.app.db.client, &[]).await.unwrap()
}

fn totp(now: i64) -> (Totp, Vec<String>) {
    let codes = new_recovery_codes();
    let totp = Totp {
        sealed_secret: b"sealed by KMS".to_vec(),
        last_step: now / STEP_SECONDS,
        enabled_at: now,
        recovery_codes: codes
            .iter()
            .map(|c| recovery_code_hash(c).unwrap())
            .collect(),
    };
    (totp, codes)
}

#[tokio::test]
async fn totp_is_turned_on_once_and_each_step_and_code_is_used_once() {
    let env = TestEnv::new().await;
    let factors = env.app.db.second_factors();
    let accounts = env.app.db.users();
    let id = env.user_without_records().await;
    let (on, codes) = totp(env.now());
    assert_eq!(
        run(&env, factors.enable_totp_step(id, &on).unwrap()).await,
        Outcome::Written
    );
    let account = accounts.account(id).await.unwrap().unwrap();
    assert_eq!(account.totp.as_ref(), Some(&on));
    let again = run(&env, factors.enable_totp_step(id, &on).unwrap()).await;
    assert!(matches!(again, Outcome::Refused { .. }), "already on");

    // A step is accepted once, and never one older than the last.
    let step = on.last_step + 1;
    assert_eq!(
        run(
            &env,
            factors
                .use_code_step(id, &on.sealed_secret, &CodeUse::Totp { step }, None)
                .unwrap()
        )
        .await,
        Outcome::Written
    );
    for used in [step, step - 1] {
        let refused = run(
            &env,
            factors
                .use_code_step(id, &on.sealed_secret, &CodeUse::Totp { step: used }, None)
                .unwrap(),
        )
        .await;
        assert!(matches!(refused, Outcome::Refused { .. }), "step {used}");
    }

    // Not against another secret than the one it holds.
    let other = factors
        .use_code_step(
            id,
            b"another secret",
            &CodeUse::Totp { step: step + 5 },
            None,
        )
        .unwrap();
    assert!(matches!(run(&env, other).await, Outcome::Refused { .. }));

    // Ten requests with one code, at once: one is accepted.
    let racing = step + 1;
    let outcomes = futures_util::future::join_all((0..10).map(|_| async {
        run(
            &env,
            factors
                .use_code_step(id, &on.sealed_secret, &CodeUse::Totp { step: racing }, None)
                .unwrap(),
        )
        .await
    }))
    .await;
    let written = outcomes.iter().filter(|o| **o == Outcome::Written).count();
    assert_eq!(written, 1, "{outcomes:?}");
    let account = accounts.account(id).await.unwrap().unwrap();
    assert_eq!(account.totp.unwrap().last_step, racing);

    // A recovery code is used once, the others left.
    let hash = recovery_code_hash(&codes[3]).unwrap();
    let used = run(
        &env,
        factors
            .use_code_step(id, &on.sealed_secret, &recovery(&hash), None)
            .unwrap(),
    )
    .await;
    assert_eq!(used, Outcome::Written);
    let reused = run(
        &env,
        factors
            .use_code_step(id, &on.sealed_secret, &recovery(&hash), None)
            .unwrap(),
    )
    .await;
    assert!(matches!(reused, Outcome::Refused { .. }));
    let left = factors.totp(id).await.unwrap().unwrap().recovery_codes;
    assert_eq!(left.len(), 9);
    assert!(!left.contains(&hash));

    // Turned off only with the secret it holds; then the codes go with it.
    let spare = recovery_code_hash(&codes[5]).unwrap();
    let other = run(
        &env,
        factors
            .disable_totp_step(id, b"another secret", Some(&recovery(&spare)), false)
            .unwrap(),
    )
    .await;
    assert!(matches!(other, Outcome::Refused { .. }));
    // Not, while a role requires a second factor, when the account has no passkey left:
    // a condition of the write, which no racing removal can get round.
    let last = factors
        .disable_totp_step(id, &on.sealed_secret, Some(&recovery(&spare)), true)
        .unwrap();
    assert!(matches!(run(&env, last).await, Outcome::Refused { .. }));
    // Not with a code used already either.
    let used_code = factors
        .disable_totp_step(id, &on.sealed_secret, Some(&recovery(&hash)), false)
        .unwrap();
    assert!(matches!(
        run(&env, used_code).await,
        Outcome::Refused { .. }
    ));
    let off = run(
        &env,
        factors
            .disable_totp_step(id, &on.sealed_secret, Some(&recovery(&spare)), false)
            .unwrap(),
    )
    .await;
    assert_eq!(off, Outcome::Written);
    assert_eq!(accounts.account(id).await.unwrap().unwrap().totp, None);
    let after = recovery_code_hash(&codes[4]).unwrap();
    let refused = run(
        &env,
        factors
            .use_code_step(id, &on.sealed_secret, &recovery(&after), None)
            .unwrap(),
    )
    .await;
    assert!(matches!(refused, Outcome::Refused { .. }));
}

fn recovery(hash: &str) -> CodeUse {
    CodeUse::RecoveryCode {
        hash: hash.to_owned(),
    }
}
