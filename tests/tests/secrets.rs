//! Secrets kept under KMS, against the local stack's KMS: a TOTP secret sealed for an
//! account opens for that account only, and its ciphertext does not hold it.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::TotpSecret;
use planoauth::secrets::SecretBox;
use planoauth_tests::TestEnv;

#[tokio::test]
async fn a_sealed_secret_opens_for_its_account_only() {
    let env = TestEnv::new().await;
    let kms = aws_sdk_kms::Client::new(&env.config);
    let key = kms.create_key().send().await.unwrap();
    let key_id = key.key_metadata.unwrap().key_id;
    let sealed_box = SecretBox::new(kms, key_id);

    let secret = TotpSecret::generate();
    let sealed = sealed_box.seal(7, &secret).await.unwrap();
    assert!(
        !sealed
            .windows(secret.as_bytes().len())
            .any(|window| window == secret.as_bytes()),
        "the ciphertext does not hold the secret"
    );
    let opened = sealed_box.open(7, &sealed).await.unwrap();
    assert_eq!(opened.as_bytes(), secret.as_bytes());
    // Copied onto another account, it does not open.
    assert!(sealed_box.open(8, &sealed).await.is_err());
    let mut tampered = sealed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(sealed_box.open(7, &tampered).await.is_err());
}
