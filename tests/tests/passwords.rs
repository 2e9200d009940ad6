//! The password lifecycle, against the local stack: the change an admin-set password
//! requires (`password-change-required`), `users/password_update`, and recovering a
//! forgotten password with `users/password_forgot` and `users/password_reset`.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::Email;
use planoauth::domain::{Limits, Origin, Refusal};
use planoauth::mail::Mailer;
use planoauth::routes;
use planoauth::store::password_resets::LIFETIME;
use planoauth::use_cases::{self, ResetRequests, reset_throttles};
use planoauth_tests::{
    Answer, PASSWORD_RESET_URL, TestEnv, assert_status, injected, links, reset_token_in, set_faults,
};
use serde_json::json;
use std::time::Duration;
use users_password_forgot::UsersPasswordForgot;

const INITIAL: &str = "violet-Tide-91-harbor";
const CHOSEN: &str = "quartz-Meadow-64-lantern";

struct Setup {
    env: TestEnv,
    /// An application token holding every permission these routes need.
    token: String,
}

async fn setup() -> Setup {
    setup_on(TestEnv::new().await).await
}

async fn setup_on(env: TestEnv) -> Setup {
    let token = env
        .application_token(
            PlanoAuth,
            &["photographers.create", "sessions.create", "passwords.reset"],
        )
        .await;
    Setup { env, token }
}

impl Setup {
    /// A photographer an admin created with the password `INITIAL`; their address.
    async fn photographer(&self) -> String {
        let email = self.env.unique_email("photographer");
        let params = json!({
            "token": self.token,
            "email": email,
            "first_name": "Dorothea",
            "last_name": "Lange",
            "password": INITIAL,
            "phone": "+1 555 010 2000",
        });
        let created = self
            .env
            .call_encoded(self.env.route(routes::PHOTOGRAPHERS_CREATE), &params)
            .await;
        assert_status(&created, "action-successful", 200);
        email
    }

    async fn sign_in(&self, email: &str, password: &str) -> Answer {
        let credentials = json!({ "token": self.token, "email": email, "password": password });
        self.env
            .call_encoded(self.env.route(routes::SESSIONS_CREATE), &credentials)
            .await
    }

    async fn session(&self, email: &str, password: &str) -> String {
        let answer = self.sign_in(email, password).await;
        assert_status(&answer, "action-successful", 200);
        token_of(&answer)
    }

    async fn show(&self, session: &str) -> Answer {
        self.env
            .call(
                self.env.route(routes::SESSIONS_SHOW),
                &json!({ "token": session }),
            )
            .await
    }

    async fn change(&self, session: &str, current: &str, new: &str) -> Answer {
        let params = json!({ "token": session, "current_password": current, "new_password": new });
        self.env
            .call_encoded(self.env.route(routes::USERS_PASSWORD_UPDATE), &params)
            .await
    }

    async fn forgot_with(&self, endpoint: &UsersPasswordForgot, email: &str) -> Answer {
        self.env
            .call(endpoint, &json!({ "token": self.token, "email": email }))
            .await
    }

    async fn forgot(&self, email: &str) -> Answer {
        self.forgot_with(&quick_forgot(&self.env), email).await
    }

    async fn reset(&self, reset_token: &str, new: &str) -> Answer {
        let params =
            json!({ "token": self.token, "reset_token": reset_token, "new_password": new });
        self.env
            .call_encoded(self.env.route(routes::USERS_PASSWORD_RESET), &params)
            .await
    }

    /// The reset token of the newest reset email sent to `email`.
    async fn emailed_token(&self, email: &str) -> String {
        self.env.emailed_reset_token(email).await
    }

    async fn reset_emails(&self, email: &str) -> usize {
        let sent = self.env.sent_emails(email).await;
        sent.iter()
            .filter(|message| {
                message["body"]
                    .as_str()
                    .is_some_and(|b| b.contains(PASSWORD_RESET_URL))
            })
            .count()
    }
}

fn token_of(answer: &Answer) -> String {
    answer.session()["token"]
        .as_str()
        .expect("a session token")
        .to_owned()
}

/// `users/password_forgot` as deployed but answering at once: the tests that do not
/// measure its pacing need not wait for it.
fn quick_forgot(env: &TestEnv) -> UsersPasswordForgot {
    UsersPasswordForgot {
        mailer: Mailer::new(env.ses.clone(), planoauth_tests::SENDER, links()),
        pacing: ResetRequests {
            answer_after: Duration::ZERO,
            ..ResetRequests::default()
        },
    }
}

#[tokio::test]
async fn an_admin_set_password_must_be_changed_before_anything_else() {
    let s = setup().await;
    let email = s.photographer().await;
    let signed_in = s.sign_in(&email, INITIAL).await;
    assert_status(&signed_in, "action-successful", 200);
    assert_eq!(signed_in.session()["password_change_required"], true);
    let session = token_of(&signed_in);
    let elsewhere = s.session(&email, INITIAL).await;

    // Anything but showing the session, ending it or changing the password is refused,
    // and the answer shows the session.
    let employee = s
        .env
        .app
        .db
        .emails()
        .owner(&email.to_lowercase())
        .await
        .unwrap()
        .unwrap();
    let update = json!({ "token": session, "id": employee, "email": email });
    let refused = s
        .env
        .call(s.env.route(routes::EMPLOYEES_UPDATE), &update)
        .await;
    assert_status(&refused, "password-change-required", 403);
    assert_eq!(refused.session()["user_id"], employee);
    let register = json!({ "token": session, "email": s.env.unique_email("x"), "password": CHOSEN,
        "first_name": "D", "last_name": "L", "phone": "+1 555 010 2000" });
    let refused = s
        .env
        .call_encoded(s.env.route(routes::USERS_CLIENT_REGISTER), &register)
        .await;
    assert_status(&refused, "password-change-required", 403);
    assert_status(&s.show(&session).await, "action-successful", 200);

    // The change takes the current password, and a new one that differs from it.
    let wrong = s.change(&session, "not-the-Password-1", CHOSEN).await;
    assert_status(&wrong, "invalid-param", 400);
    assert!(
        wrong.message().contains("`current_password`"),
        "{}",
        wrong.body
    );
    let same = s.change(&session, INITIAL, INITIAL).await;
    assert_status(&same, "invalid-param", 400);
    assert!(same.message().contains("`new_password`"), "{}", same.body);
    let weak = s.change(&session, INITIAL, "short").await;
    assert_status(&weak, "invalid-param", 400);

    let changed = s.change(&session, INITIAL, CHOSEN).await;
    assert_status(&changed, "action-successful", 200);
    assert_eq!(changed.data()["ended"], 1, "the other session ended");
    assert_eq!(changed.session()["password_change_required"], false);
    let renewed = token_of(&changed);
    assert_ne!(renewed, session);
    for ended in [&session, &elsewhere] {
        assert_status(&s.show(ended).await, "invalid-token", 401);
    }
    // The new token works everywhere the role allows: a photographer's staff role holds
    // no `employees.update`, so that is the role's answer now.
    let update = json!({ "token": renewed, "id": employee, "email": email });
    let answer = s
        .env
        .call(s.env.route(routes::EMPLOYEES_UPDATE), &update)
        .await;
    assert_status(&answer, "permission-denied", 403);
    assert_eq!(
        s.show(&renewed).await.session()["password_change_required"],
        false
    );

    // Only the new password signs in, and no change is required any more.
    assert_status(&s.sign_in(&email, INITIAL).await, "invalid-param", 400);
    let again = s.sign_in(&email, CHOSEN).await;
    assert_eq!(again.session()["password_change_required"], false);
}

#[tokio::test]
async fn a_guest_has_no_password_to_change() {
    let s = setup().await;
    let guest = s
        .env
        .call_encoded(
            s.env.route(routes::SESSIONS_CREATE),
            &json!({ "token": s.token }),
        )
        .await;
    let answer = s.change(&token_of(&guest), INITIAL, CHOSEN).await;
    assert_status(&answer, "permission-denied", 403);
}

#[tokio::test]
async fn password_forgot_answers_alike_for_known_and_unknown_addresses() {
    let s = setup().await;
    let known = s.photographer().await;
    let unknown = s.env.unique_email("nobody");
    // As deployed: paced, so that the known address's extra work does not show.
    let deployed = UsersPasswordForgot {
        mailer: Mailer::new(s.env.ses.clone(), planoauth_tests::SENDER, links()),
        pacing: ResetRequests::default(),
    };
    let started = std::time::Instant::now();
    let for_known = s.forgot_with(&deployed, &known).await;
    let known_took = started.elapsed();
    let started = std::time::Instant::now();
    let for_unknown = s.forgot_with(&deployed, &unknown).await;
    let unknown_took = started.elapsed();
    assert_status(&for_known, "action-successful", 200);
    assert_eq!(for_known.http, for_unknown.http);
    assert_eq!(for_known.body, for_unknown.body);
    for took in [known_took, unknown_took] {
        assert!(took >= ResetRequests::default().answer_after, "{took:?}");
    }
    assert_eq!(s.reset_emails(&known).await, 1, "one email, to the account");
    assert!(s.env.sent_emails(&unknown).await.is_empty());
    // The email's link holds the token; the store holds only its hash.
    let token = s.emailed_token(&known).await;
    assert!(token.starts_with("pa_rst_") && token.len() > 40, "{token}");
    let stored = s.env.scan(&s.env.app.db.tables.password_resets).await;
    assert!(!format!("{stored:?}").contains(&token));
}

#[tokio::test]
async fn the_emailed_token_resets_the_password_once() {
    let s = setup().await;
    let email = s.photographer().await;
    let session = s.session(&email, INITIAL).await;
    assert_status(&s.forgot(&email).await, "action-successful", 200);
    let token = s.emailed_token(&email).await;

    let weak = s.reset(&token, "short").await;
    assert_status(&weak, "invalid-param", 400);
    assert!(weak.message().contains("`new_password`"), "{}", weak.body);
    let reset = s.reset(&token, CHOSEN).await;
    assert_status(&reset, "action-successful", 200);
    assert_eq!(reset.data()["ended"], 1);
    assert_status(&s.show(&session).await, "invalid-token", 401);
    // The new password signs in, with no change required: the user chose it.
    let signed_in = s.sign_in(&email, CHOSEN).await;
    assert_status(&signed_in, "action-successful", 200);
    assert_eq!(signed_in.session()["password_change_required"], false);
    assert_status(&s.sign_in(&email, INITIAL).await, "invalid-param", 400);

    let again = s.reset(&token, "another-Garden-55-river").await;
    assert_status(&again, "invalid-param", 400);
    assert!(again.message().contains("`reset_token`"), "{}", again.body);
    assert_status(&s.sign_in(&email, CHOSEN).await, "action-successful", 200);
}

#[tokio::test]
async fn expired_replaced_and_unknown_tokens_are_refused() {
    let s = setup().await;
    let email = s.photographer().await;
    let refused = |answer: &Answer| {
        assert_status(answer, "invalid-param", 400);
        assert!(
            answer.message().contains("`reset_token`"),
            "{}",
            answer.body
        );
    };

    s.forgot(&email).await;
    let older = s.emailed_token(&email).await;
    s.forgot(&email).await;
    let newer = s.emailed_token(&email).await;
    assert_ne!(older, newer);
    refused(&s.reset(&older, CHOSEN).await);

    s.env.advance(LIFETIME + 1);
    refused(&s.reset(&newer, CHOSEN).await);

    refused(
        &s.reset("pa_rst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", CHOSEN)
            .await,
    );
    refused(&s.reset("not a token", CHOSEN).await);
    // A session token is no reset token.
    let session = s.session(&email, INITIAL).await;
    refused(&s.reset(&session, CHOSEN).await);
    assert_status(&s.sign_in(&email, INITIAL).await, "action-successful", 200);
}

#[tokio::test]
async fn reset_requests_are_throttled_alike_for_every_address() {
    let s = setup().await;
    let known = s.photographer().await;
    let unknown = s.env.unique_email("nobody");
    let limit = Limits::RESET_REQUESTS.per_person.attempts;
    for _ in 0..limit {
        assert_status(&s.forgot(&known).await, "action-successful", 200);
        assert_status(&s.forgot(&unknown).await, "action-successful", 200);
    }
    let for_known = s.forgot(&known).await;
    let for_unknown = s.forgot(&unknown).await;
    assert_status(&for_known, "too-many-attempts", 429);
    assert_eq!(for_known.body, for_unknown.body);
    assert_eq!(
        s.reset_emails(&known).await,
        usize::try_from(limit).unwrap()
    );
    let email = Email::parse(&unknown).unwrap();
    let throttles = reset_throttles(
        &email,
        &Origin::server(&s.env.source_ip),
        &Limits::RESET_REQUESTS,
    );
    let counts = s
        .env
        .app
        .db
        .throttles()
        .counts(&throttles, s.env.now())
        .await;
    assert_eq!(
        counts.unwrap()[0],
        limit,
        "refused requests are not counted"
    );
}

#[tokio::test]
async fn a_reset_email_that_fails_is_the_teams_to_know_not_the_callers() {
    let s = setup().await;
    let known = s.photographer().await;
    let unknown = s.env.unique_email("nobody");
    // SES refuses to send from an identity that was never verified.
    let failing = UsersPasswordForgot {
        mailer: Mailer::new(s.env.ses.clone(), "unverified@planoauth.test", links()),
        pacing: ResetRequests {
            answer_after: Duration::ZERO,
            ..ResetRequests::default()
        },
    };
    let for_known = s.forgot_with(&failing, &known).await;
    let for_unknown = s.forgot_with(&failing, &unknown).await;
    assert_status(&for_known, "action-successful", 200);
    assert_eq!(for_known.body, for_unknown.body);
    let emails = s.env.app.db.emails();
    let user = emails.owner(&known.to_lowercase()).await.unwrap().unwrap();
    let notifications = s
        .env
        .app
        .db
        .client
        .scan()
        .table_name(&s.env.app.db.tables.notifications)
        .filter_expression("subject = :subject")
        .expression_attribute_values(":subject", AttributeValue::S(format!("user:{user}")))
        .send()
        .await
        .unwrap();
    let items = notifications.items();
    assert_eq!(items.len(), 1, "one notification, for the account");
    assert_eq!(items[0]["kind"].as_s().unwrap(), "email-send-failed");
    assert_eq!(items[0]["recipient"].as_s().unwrap(), &known);
    // What SES said, not the raw response.
    let detail = items[0]["detail"].as_s().unwrap();
    assert!(
        detail.contains("MessageRejected") && detail.len() < 300,
        "{detail}"
    );
}

#[tokio::test]
async fn a_session_token_cannot_call_the_reset_routes() {
    let s = setup().await;
    let email = s.photographer().await;
    let session = s.session(&email, INITIAL).await;
    let answer = s
        .env
        .call(
            s.env.route(routes::USERS_PASSWORD_FORGOT),
            &json!({ "token": session, "email": email }),
        )
        .await;
    // A session that must change its password gets the same answer as any session.
    assert_status(&answer, "permission-denied", 403);
}

#[tokio::test]
async fn a_sign_in_that_checked_a_password_since_changed_opens_no_session() {
    let s = setup().await;
    let email = s.photographer().await;
    let db = &s.env.app.db;
    let user = db
        .emails()
        .owner(&email.to_lowercase())
        .await
        .unwrap()
        .unwrap();
    // A sign-in checks the password and reads the account...
    let account = db.users().account(user).await.unwrap().unwrap();
    let checked = account.password_hash.clone().unwrap();
    assert!(planoauth::passwords::verify(INITIAL, &checked));
    // ...another request changes the password...
    let session = s.session(&email, INITIAL).await;
    assert_status(
        &s.change(&session, INITIAL, CHOSEN).await,
        "action-successful",
        200,
    );
    // ...and the sign-in's session is refused when it is written.
    let grants = use_cases::grants_of(db, &account).await.unwrap();
    let (_, opened) = use_cases::new_session(
        Some(&grants),
        planoauth::domain::Method::Password,
        PlanoAuth,
        false,
        s.env.now(),
    );
    let written = use_cases::write_opened(db, &opened, Some(&account), None).await;
    assert!(
        matches!(written, Ok(Err(Refusal::PasswordChanged))),
        "{written:?}"
    );
}

/// Sign-ins with the old password racing its change, started every 20 ms until shortly
/// after the change has landed, so that some check it before the change and write their
/// session after: none of their sessions may work once all are done.
#[tokio::test]
async fn no_session_opened_with_the_old_password_survives_a_change() {
    // Tables of its own, on which the local DynamoDB holds transactions as DynamoDB does.
    let s = setup_on(TestEnv::isolated("password-race").await).await;
    set_faults(&s.env.prefix, json!({ "transaction_ms": 20 })).await;
    let email = s.photographer().await;
    let changer = s.session(&email, INITIAL).await;
    let first_answered = tokio::sync::Notify::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let sign_ins = (0..100).map(|i| {
        let (s, email, first_answered, stop) = (&s, &email, &first_answered, &stop);
        async move {
            tokio::time::sleep(Duration::from_millis(20 * i)).await;
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                return None;
            }
            let answer = s.sign_in(email, INITIAL).await;
            first_answered.notify_one();
            Some(answer)
        }
    });
    let change = async {
        first_answered.notified().await;
        // Every sign-in writes the account's record too: under this much contention the
        // change may run out of retries, having changed nothing, and its caller asks again.
        let mut changed = s.change(&changer, INITIAL, CHOSEN).await;
        for _ in 0..3 {
            if changed.status() != "record-busy" {
                break;
            }
            changed = s.change(&changer, INITIAL, CHOSEN).await;
        }
        // A few sign-ins more, which the change precedes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        changed
    };
    let (answers, changed) = tokio::join!(futures_util::future::join_all(sign_ins), change);
    assert_status(&changed, "action-successful", 200);
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for answer in answers.iter().flatten() {
        *tally.entry(answer.status().to_owned()).or_default() += 1;
        match answer.status() {
            "action-successful" => {
                assert_status(&s.show(&token_of(answer)).await, "invalid-token", 401)
            }
            // Sign-ins of one account all list their session on its record: under this
            // much contention one may run out of retries, having changed nothing.
            "record-busy" => assert_status(answer, "record-busy", 409),
            _ => assert_status(answer, "invalid-param", 400),
        }
    }
    assert_status(&s.show(&token_of(&changed)).await, "action-successful", 200);
    eprintln!("sign-ins racing a password change: {tally:?}");
    assert!(
        tally.contains_key("action-successful") && tally.contains_key("invalid-param"),
        "{tally:?}"
    );
}

#[tokio::test]
async fn the_reset_email_goes_to_the_address_on_record_whatever_case_was_typed() {
    let s = setup().await;
    let recorded = format!("Dorothea.{}", s.env.unique_email("Lange"));
    let params = json!({
        "token": s.token,
        "email": recorded,
        "first_name": "Dorothea",
        "last_name": "Lange",
        "password": INITIAL,
        "phone": "+1 555 010 2000",
    });
    let created = s
        .env
        .call_encoded(s.env.route(routes::PHOTOGRAPHERS_CREATE), &params)
        .await;
    assert_status(&created, "action-successful", 200);
    let typed = recorded.to_lowercase();
    assert_ne!(typed, recorded);
    assert_status(&s.forgot(&typed).await, "action-successful", 200);
    assert_eq!(s.reset_emails(&recorded).await, 1);
    assert!(s.env.sent_emails(&typed).await.is_empty());
}

#[tokio::test]
async fn no_working_reset_link_goes_to_an_address_moved_while_it_was_issued() {
    let s = setup_on(TestEnv::isolated("reset-move").await).await;
    let employee = s
        .env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(INITIAL))
        .await;
    let stalls = || async {
        injected(&s.env.prefix).await["stalls"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = stalls().await;
    // The read of the address to mail is held while an operator moves the address away:
    // a token stored after the move must not reach the old address.
    let stall = json!({ "operation": "GetItem", "table": "EmployeesTable", "count": 1 });
    set_faults(
        &s.env.prefix,
        json!({ "stall_ms": 1500, "stall_next": stall }),
    )
    .await;
    let moved_to = s.env.unique_email("moved-away");
    let move_away = async {
        for _ in 0..500 {
            if stalls().await > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(stalls().await > before, "the read was never held");
        let line = format!("employee update --user {} --email {moved_to}", employee.id);
        let mailer = Mailer::new(s.env.ses.clone(), planoauth_tests::SENDER, links());
        s.env.admin_mailing(Some(mailer), &line).await.unwrap();
    };
    let (forgot, ()) = tokio::join!(s.forgot(&employee.email), move_away);
    assert_status(&forgot, "action-successful", 200);
    for message in s.env.sent_emails(&employee.email).await {
        let body = message["body"].as_str().unwrap_or_default();
        let Some(token) = reset_token_in(body) else {
            continue;
        };
        assert_status(&s.reset(&token, CHOSEN).await, "invalid-param", 400);
    }
    assert_status(
        &s.sign_in(&moved_to, INITIAL).await,
        "action-successful",
        200,
    );
}
