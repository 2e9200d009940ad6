//! The relying party's ceremonies against a software authenticator of another make, with
//! no storage: what the wire carries, both ways.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::passkeys::{Registered, Rejected, RelyingParty, new_user_handle};
use planoauth_tests::authenticator::SoftwareAuthenticator;

const ORIGIN: &str = "http://localhost:3000";

fn party() -> RelyingParty {
    RelyingParty::new("localhost", &[ORIGIN]).unwrap()
}

/// A passkey of `authenticator`'s, registered with `party`.
async fn enrolled(party: &RelyingParty, authenticator: &mut SoftwareAuthenticator) -> Registered {
    let (options, state) = party
        .start_registration(new_user_handle(), "ada@example.com", "Ada", &[])
        .unwrap();
    let credential = authenticator.register(&options).await.unwrap();
    party.finish_registration(&credential, &state).unwrap()
}

#[tokio::test]
async fn a_passkey_registers_and_signs_in_with_and_without_a_username() {
    let party = party();
    let mut authenticator = SoftwareAuthenticator::new(ORIGIN);
    let handle = new_user_handle();
    let (options, state) = party
        .start_registration(handle, "ada@example.com", "Ada Lovelace", &[])
        .unwrap();
    let credential = authenticator.register(&options).await.unwrap();
    let registered = party.finish_registration(&credential, &state).unwrap();

    let (options, state) = party.start_sign_in(&[]).unwrap();
    let assertion = authenticator.sign_in(&options).await.unwrap();
    let asserted = party.asserted(&assertion).unwrap();
    assert_eq!(asserted.id, registered.id);
    assert_eq!(asserted.user_handle, Some(handle));
    let used = party
        .finish_sign_in(&assertion, &state, &registered.key)
        .unwrap();
    assert!(used.counter > registered.counter || used.counter == 0);

    let (options, state) = party
        .start_sign_in(std::slice::from_ref(&registered.id))
        .unwrap();
    let assertion = authenticator.sign_in(&options).await.unwrap();
    party.finish_sign_in(&assertion, &state, &used.key).unwrap();
}

#[tokio::test]
async fn an_assertion_verifies_once_against_its_own_challenge() {
    let party = party();
    let mut authenticator = SoftwareAuthenticator::new(ORIGIN);
    let registered = enrolled(&party, &mut authenticator).await;
    let (options, _) = party.start_sign_in(&[]).unwrap();
    let assertion = authenticator.sign_in(&options).await.unwrap();
    let (_, other_state) = party.start_sign_in(&[]).unwrap();
    let refused = party.finish_sign_in(&assertion, &other_state, &registered.key);
    assert!(
        matches!(refused, Err(Rejected::Credential(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_copied_authenticator_behind_the_counter_is_refused() {
    let party = party();
    let mut authenticator = SoftwareAuthenticator::new(ORIGIN);
    let registered = enrolled(&party, &mut authenticator).await;
    let mut copy = authenticator.copy();
    let (options, state) = party.start_sign_in(&[]).unwrap();
    let assertion = authenticator.sign_in(&options).await.unwrap();
    let used = party
        .finish_sign_in(&assertion, &state, &registered.key)
        .unwrap();
    assert!(used.counter > 0, "the authenticator keeps a counter");
    let (options, state) = party.start_sign_in(&[]).unwrap();
    let cloned = copy.sign_in(&options).await.unwrap();
    let refused = party.finish_sign_in(&cloned, &state, &used.key);
    assert_eq!(refused, Err(Rejected::CounterRegressed));
}

#[tokio::test]
async fn an_unverified_user_or_another_origin_is_refused() {
    let party = party();
    let mut unverified = SoftwareAuthenticator::without_user_verification(ORIGIN);
    let (options, state) = party
        .start_registration(new_user_handle(), "ada@example.com", "Ada", &[])
        .unwrap();
    // A client that does not ask its authenticator to verify the user, whatever the
    // options say: the relying party reads the flag in what the authenticator signed.
    let mut unverifying = options.clone();
    unverifying["authenticatorSelection"]["userVerification"] = "discouraged".into();
    let credential = unverified.register(&unverifying).await.unwrap();
    let refused = party.finish_registration(&credential, &state);
    assert!(
        matches!(&refused, Err(Rejected::Credential(why)) if why.contains("user verified bit")),
        "{refused:?}"
    );
    let mut elsewhere = SoftwareAuthenticator::new("http://localhost:4000");
    let (options, state) = party
        .start_registration(new_user_handle(), "ada@example.com", "Ada", &[])
        .unwrap();
    let credential = elsewhere.register(&options).await.unwrap();
    let refused = party.finish_registration(&credential, &state);
    assert!(
        matches!(refused, Err(Rejected::Credential(_))),
        "{refused:?}"
    );
}
