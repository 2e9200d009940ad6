//! Passkeys against the local stack, with a software authenticator of another make than
//! the verifier: enrolment and its recent proof, the ceremonies' binding and single use,
//! listing and removal, usernameless and named sign-in, the counter, and the limits that
//! must hold when requests arrive together.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::{AuditAction, MAX_PASSKEYS, RECENT_PROOF};
use planoauth::routes;
use planoauth_tests::authenticator::SoftwareAuthenticator;
use planoauth_tests::{Answer, PASSKEY_ORIGIN, SENDER, TestEnv, assert_status, links};
use serde_json::{Value, json};

struct Setup {
    env: TestEnv,
    /// An application token that may open sessions.
    server: String,
}

async fn setup() -> Setup {
    setup_on(TestEnv::new().await).await
}

async fn setup_on(env: TestEnv) -> Setup {
    let server = env.application_token(PlanoAuth, &["sessions.create"]).await;
    Setup { env, server }
}

/// A member of staff who signs in with `PASSWORD`; their id, address and a fresh session.
const PASSWORD: &str = "violet-Tide-91-harbor";

impl Setup {
    async fn staff(&self) -> (i64, String, String) {
        let employee = self
            .env
            .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
            .await;
        let session = self.env.session(employee.id, PlanoAuth, false).await;
        (employee.id, employee.email, session)
    }

    async fn call(&self, route: routes::Route, params: Value) -> Answer {
        self.env.call(self.env.route(route), &params).await
    }

    async fn register_start(&self, session: &str) -> Answer {
        self.call(routes::PASSKEYS_REGISTER_START, json!({ "token": session }))
            .await
    }

    async fn register_finish(&self, session: &str, ceremony: &str, credential: &Value) -> Answer {
        let params = json!({ "token": session, "ceremony": ceremony, "credential": credential });
        self.call(routes::PASSKEYS_REGISTER_FINISH, params).await
    }

    /// Enrols a passkey of `authenticator` for the session's user; the finish's answer.
    async fn enrol(&self, session: &str, authenticator: &mut SoftwareAuthenticator) -> Answer {
        let started = self.register_start(session).await;
        assert_status(&started, "action-successful", 200);
        let credential = authenticator
            .register(&started.data()["options"])
            .await
            .unwrap();
        let ceremony = started.data()["ceremony"].as_str().unwrap();
        self.register_finish(session, ceremony, &credential).await
    }

    async fn passkeys(&self, session: &str) -> Vec<Value> {
        let listed = self
            .call(routes::PASSKEYS_LIST, json!({ "token": session }))
            .await;
        assert_status(&listed, "action-successful", 200);
        listed.data()["passkeys"].as_array().unwrap().clone()
    }

    async fn delete(&self, session: &str, passkey_id: &str) -> Answer {
        let params = json!({ "token": session, "passkey_id": passkey_id });
        self.call(routes::PASSKEYS_DELETE, params).await
    }

    async fn sign_in_start(&self, email: Option<&str>) -> Answer {
        let mut params = json!({ "token": self.server });
        if let Some(email) = email {
            params["email"] = Value::from(email);
        }
        self.call(routes::SESSIONS_PASSKEY_START, params).await
    }

    async fn sign_in_finish(&self, ceremony: &str, credential: &Value) -> Answer {
        let params =
            json!({ "token": self.server, "ceremony": ceremony, "credential": credential });
        self.call(routes::SESSIONS_PASSKEY_FINISH, params).await
    }

    /// A whole sign-in with `authenticator`, for `email` or usernameless.
    async fn sign_in(
        &self,
        email: Option<&str>,
        authenticator: &mut SoftwareAuthenticator,
    ) -> Answer {
        let started = self.sign_in_start(email).await;
        assert_status(&started, "action-successful", 200);
        let assertion = authenticator
            .sign_in(&started.data()["options"])
            .await
            .unwrap();
        let ceremony = started.data()["ceremony"].as_str().unwrap();
        self.sign_in_finish(ceremony, &assertion).await
    }

    async fn subjects(&self, address: &str) -> Vec<String> {
        self.env
            .sent_emails(address)
            .await
            .iter()
            .filter_map(|m| m["subject"].as_str().map(str::to_owned))
            .collect()
    }
}

fn authenticator() -> SoftwareAuthenticator {
    SoftwareAuthenticator::new(PASSKEY_ORIGIN)
}

#[tokio::test]
async fn a_passkey_enrolled_signs_in_usernameless_and_by_address_as_two_factors() {
    let s = setup().await;
    let (user_id, email, session) = s.staff().await;
    let mut key = authenticator();
    let enrolled = s.enrol(&session, &mut key).await;
    assert_status(&enrolled, "action-successful", 200);
    let passkey = enrolled.data().clone();
    assert!(passkey["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(
        passkey["name"]
            .as_str()
            .unwrap()
            .starts_with("Passkey added ")
    );
    assert!(passkey["last_used_at"].is_null());
    assert!(passkey.get("key").is_none(), "no key material is shown");
    assert_eq!(s.passkeys(&session).await, std::slice::from_ref(&passkey));

    let signed_in = s.sign_in(None, &mut key).await;
    assert_status(&signed_in, "action-successful", 200);
    let opened = signed_in.session();
    assert_eq!(opened["user_id"], user_id);
    assert_eq!(opened["factors"], 2);
    assert!(opened["token"].as_str().unwrap().starts_with("pa_ses_"));
    let new_session = opened["token"].as_str().unwrap().to_owned();
    let shown = s
        .call(routes::SESSIONS_SHOW, json!({ "token": new_session }))
        .await;
    assert_status(&shown, "action-successful", 200);
    let listed = s.passkeys(&new_session).await;
    assert!(listed[0]["last_used_at"].is_string(), "{listed:?}");

    let by_address = s.sign_in(Some(&email), &mut key).await;
    assert_status(&by_address, "action-successful", 200);
    assert_eq!(by_address.session()["user_id"], user_id);

    let actions: Vec<AuditAction> = s
        .env
        .app
        .db
        .audit()
        .for_user(user_id)
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.action)
        .collect();
    assert!(actions.contains(&AuditAction::PasskeyAdded), "{actions:?}");
    let sign_ins = actions
        .iter()
        .filter(|a| **a == AuditAction::SignedInWithPasskey)
        .count();
    assert_eq!(sign_ins, 2);
    assert_eq!(
        s.subjects(&email).await,
        ["A passkey was added to your PlanoAuth account"]
    );
}

#[tokio::test]
async fn enrolling_needs_a_proof_from_the_last_fifteen_minutes() {
    let s = setup().await;
    let (_, _, session) = s.staff().await;
    s.env.advance(RECENT_PROOF + 1);
    let stale = s.register_start(&session).await;
    assert_status(&stale, "reauthentication-required", 403);
    assert!(
        stale.session().is_object(),
        "the answer carries the session"
    );
    let guest = s.env.guest_session().await;
    assert_status(&s.register_start(&guest).await, "permission-denied", 403);
    let server = s.register_start(&s.server).await;
    assert_status(&server, "permission-denied", 403);
}

#[tokio::test]
async fn one_authenticator_registers_once_and_an_account_holds_ten_passkeys() {
    let s = setup().await;
    let (_, _, session) = s.staff().await;
    let mut key = authenticator();
    let first = s.enrol(&session, &mut key).await;
    assert_status(&first, "action-successful", 200);
    let started = s.register_start(&session).await;
    let excluded = &started.data()["options"]["excludeCredentials"];
    assert_eq!(excluded[0]["id"], first.data()["id"], "{excluded}");
    for _ in 1..MAX_PASSKEYS {
        let answer = s.enrol(&session, &mut authenticator()).await;
        assert_status(&answer, "action-successful", 200);
    }
    let eleventh = s.register_start(&session).await;
    assert_status(&eleventh, "permission-denied", 403);
    assert!(
        eleventh.message().contains("10 passkeys"),
        "{}",
        eleventh.body
    );
}

#[tokio::test]
async fn two_enrolments_racing_for_the_tenth_place_add_one_passkey() {
    let s = setup().await;
    let (_, _, session) = s.staff().await;
    for _ in 1..MAX_PASSKEYS {
        let answer = s.enrol(&session, &mut authenticator()).await;
        assert_status(&answer, "action-successful", 200);
    }
    let (mut a, mut b) = (authenticator(), authenticator());
    let (one, two) = (
        s.register_start(&session).await,
        s.register_start(&session).await,
    );
    let credential_a = a.register(&one.data()["options"]).await.unwrap();
    let credential_b = b.register(&two.data()["options"]).await.unwrap();
    let (first, second) = tokio::join!(
        s.register_finish(
            &session,
            one.data()["ceremony"].as_str().unwrap(),
            &credential_a
        ),
        s.register_finish(
            &session,
            two.data()["ceremony"].as_str().unwrap(),
            &credential_b
        ),
    );
    let statuses = [first.status(), second.status()];
    assert!(statuses.contains(&"action-successful"), "{statuses:?}");
    assert!(statuses.contains(&"permission-denied"), "{statuses:?}");
    assert_eq!(s.passkeys(&session).await.len() as i64, MAX_PASSKEYS);
}

#[tokio::test]
async fn a_ceremony_is_its_starters_once_and_for_five_minutes() {
    let s = setup().await;
    let (_, _, session) = s.staff().await;
    let (_, _, other) = s.staff().await;
    let mut key = authenticator();
    let started = s.register_start(&session).await;
    let ceremony = started.data()["ceremony"].as_str().unwrap().to_owned();
    let credential = key.register(&started.data()["options"]).await.unwrap();

    // Another caller cannot use it, and leaves it as it was.
    let stolen = s.register_finish(&other, &ceremony, &credential).await;
    assert_status(&stolen, "invalid-param", 400);
    assert!(stolen.message().contains("`ceremony`"));
    // The wrong kind of finish neither.
    let wrong_kind = s.sign_in_finish(&ceremony, &credential).await;
    assert_status(&wrong_kind, "invalid-param", 400);
    assert!(wrong_kind.message().contains("`ceremony`"));

    let finished = s.register_finish(&session, &ceremony, &credential).await;
    assert_status(&finished, "action-successful", 200);
    let again = s.register_finish(&session, &ceremony, &credential).await;
    assert_status(&again, "invalid-param", 400);
    assert!(again.message().contains("`ceremony`"));

    let late = s.sign_in_start(None).await;
    s.env.advance(5 * 60 + 1);
    let assertion = key.sign_in(&late.data()["options"]).await.unwrap();
    let expired = s
        .sign_in_finish(late.data()["ceremony"].as_str().unwrap(), &assertion)
        .await;
    assert_status(&expired, "invalid-param", 400);
    assert!(expired.message().contains("`ceremony`"));
    assert_eq!(s.passkeys(&session).await.len(), 1);
}

#[tokio::test]
async fn an_answer_that_does_not_verify_names_the_credential_and_uses_the_ceremony() {
    let s = setup().await;
    let (_, _, session) = s.staff().await;
    let started = s.register_start(&session).await;
    let ceremony = started.data()["ceremony"].as_str().unwrap().to_owned();
    // From a page of another origin: the relying party refuses it.
    let mut elsewhere = SoftwareAuthenticator::new("http://localhost:4000");
    let credential = elsewhere
        .register(&started.data()["options"])
        .await
        .unwrap();
    let refused = s.register_finish(&session, &ceremony, &credential).await;
    assert_status(&refused, "invalid-param", 400);
    assert!(
        refused.message().contains("`credential`"),
        "{}",
        refused.body
    );
    let again = s.register_finish(&session, &ceremony, &credential).await;
    assert!(
        again.message().contains("`ceremony`"),
        "used up: {}",
        again.body
    );
    let not_an_object = s.register_finish(&session, "x", &json!("text")).await;
    assert_status(&not_an_object, "invalid-param", 400);
    assert!(s.passkeys(&session).await.is_empty());
}

#[tokio::test]
async fn a_passkey_is_removed_by_its_owner_only_and_never_signs_in_again() {
    let s = setup().await;
    let (_, email, session) = s.staff().await;
    let (_, _, stranger) = s.staff().await;
    let mut key = authenticator();
    let enrolled = s.enrol(&session, &mut key).await;
    let id = enrolled.data()["id"].as_str().unwrap().to_owned();

    let not_theirs = s.delete(&stranger, &id).await;
    assert_status(&not_theirs, "invalid-param", 400);
    assert!(not_theirs.message().contains("`passkey_id`"));
    let unknown = s.delete(&session, "AAAA").await;
    assert_eq!(unknown.message(), not_theirs.message(), "answered alike");

    // The account has a password: its last passkey may go.
    let removed = s.delete(&session, &id).await;
    assert_status(&removed, "action-successful", 200);
    assert_eq!(removed.data()["id"], id.as_str());
    assert!(s.passkeys(&session).await.is_empty());
    let after = s.sign_in(None, &mut key).await;
    assert_status(&after, "invalid-param", 400);
    assert!(after.message().contains("`credential`"));
    assert_eq!(
        s.subjects(&email).await,
        [
            "A passkey was added to your PlanoAuth account",
            "A passkey was removed from your PlanoAuth account"
        ]
    );
}

#[tokio::test]
async fn an_account_without_a_password_keeps_its_last_passkey_even_when_two_removals_race() {
    let s = setup().await;
    let user_id = s.env.user_without_records().await;
    let session = s.env.session(user_id, PlanoAuth, false).await;
    let (mut a, mut b) = (authenticator(), authenticator());
    let first = s.enrol(&session, &mut a).await;
    let second = s.enrol(&session, &mut b).await;
    let ids = [first.data()["id"].clone(), second.data()["id"].clone()];
    let (one, two) = tokio::join!(
        s.delete(&session, ids[0].as_str().unwrap()),
        s.delete(&session, ids[1].as_str().unwrap()),
    );
    let statuses = [one.status(), two.status()];
    assert!(statuses.contains(&"action-successful"), "{statuses:?}");
    assert!(statuses.contains(&"invalid-param"), "{statuses:?}");
    let refused = if one.status() == "invalid-param" {
        &one
    } else {
        &two
    };
    assert!(
        refused.message().contains("last way to sign in"),
        "{}",
        refused.body
    );
    assert_eq!(s.passkeys(&session).await.len(), 1);
}

#[tokio::test]
async fn a_start_with_an_address_tells_no_one_which_addresses_have_passkeys() {
    let s = setup().await;
    let (_, email, session) = s.staff().await;
    s.enrol(&session, &mut authenticator()).await;
    let (_, without, _) = s.staff().await;
    let unknown = s.env.unique_email("nobody");
    let mut shapes = Vec::new();
    for address in [&email, &without, &unknown] {
        let started = s.sign_in_start(Some(address)).await;
        assert_status(&started, "action-successful", 200);
        let allowed = started.data()["options"]["allowCredentials"]
            .as_array()
            .unwrap()
            .clone();
        assert!((1..=2).contains(&allowed.len()), "{allowed:?}");
        let keys: Vec<String> = started.data()["options"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        shapes.push(keys);
        // Made-up ids stay the same for the same address.
        let again = s.sign_in_start(Some(address)).await;
        assert_eq!(
            again.data()["options"]["allowCredentials"],
            Value::from(allowed)
        );
    }
    assert!(
        shapes.windows(2).all(|pair| pair[0] == pair[1]),
        "{shapes:?}"
    );
}

#[tokio::test]
async fn a_passkey_signs_in_only_the_account_an_address_named() {
    let s = setup().await;
    let (_, _, session) = s.staff().await;
    let (_, other_email, _) = s.staff().await;
    let mut key = authenticator();
    s.enrol(&session, &mut key).await;
    // The authenticator answers with its own passkey whatever was offered.
    let started = s.sign_in_start(Some(&other_email)).await;
    let mut options = started.data()["options"].clone();
    options["allowCredentials"] = json!([]);
    let assertion = key.sign_in(&options).await.unwrap();
    let refused = s
        .sign_in_finish(started.data()["ceremony"].as_str().unwrap(), &assertion)
        .await;
    assert_status(&refused, "invalid-param", 400);
    assert!(refused.message().contains("`credential`"));
}

#[tokio::test]
async fn a_copy_of_a_passkey_behind_its_counter_is_refused_and_told_while_the_original_works() {
    let s = setup().await;
    let (_, email, session) = s.staff().await;
    let mut key = authenticator();
    s.enrol(&session, &mut key).await;
    let mut copy = key.copy();
    assert_status(&s.sign_in(None, &mut key).await, "action-successful", 200);
    let cloned = s.sign_in(None, &mut copy).await;
    assert_status(&cloned, "invalid-param", 400);
    assert!(cloned.message().contains("counter"), "{}", cloned.body);
    assert!(
        s.subjects(&email)
            .await
            .contains(&"A sign-in to your PlanoAuth account was refused".to_owned())
    );
    assert_status(&s.sign_in(None, &mut key).await, "action-successful", 200);
}

#[tokio::test]
async fn a_deactivated_employee_signs_in_with_no_passkey() {
    let s = setup().await;
    let (user_id, _, session) = s.staff().await;
    let mut key = authenticator();
    s.enrol(&session, &mut key).await;
    let mailer = planoauth::mail::Mailer::new(s.env.ses.clone(), SENDER, links());
    let line = format!("employee update --user {user_id} --active false");
    s.env.admin_mailing(Some(mailer), &line).await.unwrap();
    let refused = s.sign_in(None, &mut key).await;
    assert_status(&refused, "permission-denied", 403);
}

#[tokio::test]
async fn a_repeated_finish_with_its_key_answers_the_session_again_under_a_new_token() {
    let s = setup().await;
    let (user_id, _, session) = s.staff().await;
    let mut key = authenticator();
    s.enrol(&session, &mut key).await;
    let started = s.sign_in_start(None).await;
    let assertion = key.sign_in(&started.data()["options"]).await.unwrap();
    let params = json!({
        "token": s.server,
        "ceremony": started.data()["ceremony"],
        "credential": assertion,
    });
    let route = s.env.route(routes::SESSIONS_PASSKEY_FINISH);
    let key = format!("passkey-repeat-{}", planoauth::tokens::random_id());
    let key_header = [
        ("content-type", "application/json"),
        ("idempotency-key", key.as_str()),
    ];
    let body = params.to_string();
    let app = &s.env.app;
    let first = s
        .env
        .call_with(app, route, &key_header, body.as_bytes())
        .await;
    assert_status(&first, "action-successful", 200);
    let again = s
        .env
        .call_with(app, route, &key_header, body.as_bytes())
        .await;
    assert_status(&again, "action-successful", 200);
    assert_eq!(again.session()["id"], first.session()["id"]);
    assert_eq!(again.session()["user_id"], user_id);
    assert_ne!(again.session()["token"], first.session()["token"]);
}
