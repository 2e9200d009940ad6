//! The limits on attempts, as an attacker tries them: requests sent together, a lock
//! tried through another route, a repeat that carries a password, a stranger filling an
//! application server's budget. Against the local stack, with DynamoDB's contention and
//! faults switched on where a test claims to hold under them.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use futures_util::future::join_all;
use planoauth::attempts::{Person, password_throttles};
use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::{Employee, Limit, Limits, Origin};
use planoauth::mail::Mailer;
use planoauth::routes;
use planoauth::use_cases::{RegistrationLimits, ResetRequests};
use planoauth_tests::{
    Answer, SENDER, TestEnv, assert_no_server_errors, assert_status, links, race_faults,
    set_faults, tally,
};
use serde_json::{Value, json};
use sessions_create::SessionsCreate;
use std::time::Duration;
use users_client_register::UsersClientRegister;
use users_password_forgot::UsersPasswordForgot;
use users_password_update::UsersPasswordUpdate;

const PASSWORD: &str = "cedar-Lantern-48-harbor";
const HOUR: i64 = 60 * 60;

fn limit(attempts: i64) -> Limit {
    Limit {
        attempts,
        window_seconds: HOUR,
    }
}

/// An environment whose clock stands at the top of an hour, so no window rolls over
/// mid-test, with an application token for these routes.
async fn setup(env: TestEnv) -> (TestEnv, String) {
    env.clock.set((env.now() / HOUR + 1) * HOUR);
    let token = env
        .application_token(
            PlanoAuth,
            &["sessions.create", "passwords.reset", "clients.register"],
        )
        .await;
    (env, token)
}

async fn sign_in(env: &TestEnv, endpoint: &SessionsCreate, params: Value) -> Answer {
    env.call_encoded(endpoint, &params).await
}

fn credentials(token: &str, employee: &Employee, password: &str) -> Value {
    json!({ "token": token, "email": employee.email, "password": password })
}

fn count(answers: &[Answer], status: &str) -> usize {
    answers.iter().filter(|a| a.status() == status).count()
}

#[tokio::test]
async fn wrong_guesses_sent_together_at_the_limit_get_one_verification() {
    let (env, token) = setup(TestEnv::isolated("limits-burst").await).await;
    set_faults(&env.prefix, race_faults(10)).await;
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let endpoint = SessionsCreate {
        limits: Limits {
            per_person: limit(5),
            ..Limits::PASSWORDS
        },
    };
    for guess in 0..4 {
        let wrong = credentials(&token, &employee, &format!("wrong-Guess-{guess}-aaa"));
        assert_status(&sign_in(&env, &endpoint, wrong).await, "invalid-param", 400);
    }
    let burst = (0..20).map(|guess| {
        let wrong = credentials(&token, &employee, &format!("burst-Guess-{guess}-bbb"));
        sign_in(&env, &endpoint, wrong)
    });
    let answers = join_all(burst).await;
    assert_no_server_errors(&answers);
    // Of twenty guesses at one left, one was verified (and was wrong); none other was.
    assert_eq!(count(&answers, "invalid-param"), 1, "{:?}", tally(&answers));
    assert_eq!(
        count(&answers, "too-many-attempts"),
        19,
        "{:?}",
        tally(&answers)
    );
    let throttles = password_throttles(
        Person::Account(employee.id),
        &Origin::server(&env.source_ip),
        &endpoint.limits,
    );
    let counts = env.app.db.throttles().counts(&throttles, env.now()).await;
    assert_eq!(counts.unwrap()[0], 5, "the budget, and not one over");
    // The right password is refused too, until the window ends.
    let right = credentials(&token, &employee, PASSWORD);
    assert_status(
        &sign_in(&env, &endpoint, right.clone()).await,
        "too-many-attempts",
        429,
    );
    env.advance(HOUR);
    assert_status(
        &sign_in(&env, &endpoint, right).await,
        "action-successful",
        200,
    );
}

fn forgot(env: &TestEnv) -> UsersPasswordForgot {
    UsersPasswordForgot {
        mailer: Mailer::new(env.ses.clone(), SENDER, links()),
        pacing: ResetRequests {
            answer_after: Duration::ZERO,
            ..ResetRequests::default()
        },
    }
}

#[tokio::test]
async fn reset_requests_sent_together_send_at_most_the_limit_of_emails() {
    let (env, token) = setup(TestEnv::isolated("limits-resets").await).await;
    set_faults(&env.prefix, race_faults(10)).await;
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let endpoint = forgot(&env);
    let request = json!({ "token": token, "email": employee.email });
    let answers = join_all((0..12).map(|_| env.call(&endpoint, &request))).await;
    assert_no_server_errors(&answers);
    let limit = Limits::RESET_REQUESTS.per_person.attempts as usize;
    assert_eq!(
        count(&answers, "action-successful"),
        limit,
        "{:?}",
        tally(&answers)
    );
    assert_eq!(count(&answers, "too-many-attempts"), 12 - limit);
    assert_eq!(env.sent_emails(&employee.email).await.len(), limit);
}

#[tokio::test]
async fn a_lock_at_sign_in_is_a_lock_at_every_route_that_checks_the_password() {
    let (env, token) = setup(TestEnv::new().await).await;
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let limits = Limits {
        per_person: limit(3),
        ..Limits::PASSWORDS
    };
    let sessions = SessionsCreate { limits };
    let password_update = UsersPasswordUpdate {
        mailer: Mailer::new(env.ses.clone(), SENDER, links()),
        limits,
    };
    let session = sign_in(&env, &sessions, credentials(&token, &employee, PASSWORD)).await;
    assert_status(&session, "action-successful", 200);
    let session = session.session()["token"].as_str().unwrap().to_owned();
    let change = |current: &str| json!({ "token": session, "current_password": current, "new_password": "slate-Orchid-35-river" });
    // Two wrong sign-ins and one wrong current password fill the one budget...
    for guess in ["wrong-Guess-1-aaa", "wrong-Guess-2-aaa"] {
        let wrong = credentials(&token, &employee, guess);
        assert_status(&sign_in(&env, &sessions, wrong).await, "invalid-param", 400);
    }
    let wrong_current = env
        .call_encoded(&password_update, &change("wrong-Guess-3-aaa"))
        .await;
    assert_status(&wrong_current, "invalid-param", 400);
    // ...and both routes are locked, the right password too.
    let right_current = env.call_encoded(&password_update, &change(PASSWORD)).await;
    assert_status(&right_current, "too-many-attempts", 429);
    let right = credentials(&token, &employee, PASSWORD);
    assert_status(
        &sign_in(&env, &sessions, right).await,
        "too-many-attempts",
        429,
    );
}

#[tokio::test]
async fn a_repeat_that_carries_a_wrong_password_counts_as_a_wrong_sign_in() {
    let (env, token) = setup(TestEnv::new().await).await;
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let route = env.route(routes::SESSIONS_CREATE);
    let key = planoauth::tokens::random_id();
    let right = credentials(&token, &employee, PASSWORD);
    assert_status(
        &env.call_encoded_with_key(route, &right, &key).await,
        "action-successful",
        200,
    );
    let throttles = password_throttles(
        Person::Account(employee.id),
        &Origin::server(&env.source_ip),
        &Limits::PASSWORDS,
    );
    let counts = || async {
        env.app
            .db
            .throttles()
            .counts(&throttles, env.now())
            .await
            .unwrap()[0]
    };
    assert_eq!(counts().await, 0, "a right password gives its attempt back");
    let wrong = credentials(&token, &employee, "wrong-Guess-1-aaa");
    let repeat = env.call_encoded_with_key(route, &wrong, &key).await;
    assert_status(&repeat, "invalid-param", 400);
    assert!(repeat.message().contains("`Idempotency-Key`"));
    assert_eq!(counts().await, 1);
    // At the limit, a repeat is refused as a sign-in is, the right password too.
    let left = Limits::PASSWORDS.per_person.attempts - 1;
    for _ in 0..left {
        env.app
            .db
            .throttles()
            .take(&throttles[..1], env.now())
            .await
            .unwrap();
    }
    let repeat = env.call_encoded_with_key(route, &right, &key).await;
    assert_status(&repeat, "too-many-attempts", 429);
    assert!(!repeat.replayed);
}

/// An end user's address of its own, so that what is counted per end user does not add
/// up across tests and runs on one stack.
fn end_user() -> String {
    let [a, b, c] = rand::random::<[u8; 3]>();
    format!("100.{a}.{b}.{c}")
}

/// Sign-in as an application's server passes it: with its end user's address.
fn from(params: &Value, client_ip: &str) -> Value {
    let mut params = params.clone();
    params["client_ip"] = Value::from(client_ip);
    params
}

#[tokio::test]
async fn one_end_users_full_budget_leaves_another_end_users_sign_in_working() {
    let (env, token) = setup(TestEnv::new().await).await;
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let endpoint = SessionsCreate {
        limits: Limits {
            per_end_user: limit(3),
            ..Limits::PASSWORDS
        },
    };
    let stranger = &end_user();
    for _ in 0..3 {
        let spray = json!({ "token": token, "email": env.unique_email("sprayed"), "password": "wrong-Guess-1-aaa" });
        let answer = sign_in(&env, &endpoint, from(&spray, stranger)).await;
        assert_status(&answer, "invalid-param", 400);
    }
    let right = credentials(&token, &employee, PASSWORD);
    let blocked = sign_in(&env, &endpoint, from(&right, stranger)).await;
    assert_status(&blocked, "too-many-attempts", 429);
    // The same server, another end user: signed in.
    let other = sign_in(&env, &endpoint, from(&right, &end_user())).await;
    assert_status(&other, "action-successful", 200);
}

#[tokio::test]
async fn a_server_as_a_whole_is_braked_far_more_loosely() {
    let (env, token) = setup(TestEnv::new().await).await;
    let employee = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let endpoint = SessionsCreate {
        limits: Limits {
            per_server: limit(4),
            ..Limits::PASSWORDS
        },
    };
    for _ in 0..4 {
        let spray = json!({ "token": token, "email": env.unique_email("sprayed"), "password": "wrong-Guess-1-aaa" });
        let answer = sign_in(&env, &endpoint, from(&spray, &end_user())).await;
        assert_status(&answer, "invalid-param", 400);
    }
    let right = credentials(&token, &employee, PASSWORD);
    let braked = sign_in(&env, &endpoint, from(&right, &end_user())).await;
    assert_status(&braked, "too-many-attempts", 429);
}

#[tokio::test]
async fn only_an_application_token_passes_an_end_users_address() {
    let (env, token) = setup(TestEnv::new().await).await;
    let session = env.guest_session().await;
    let show = env
        .call(
            env.route(routes::SESSIONS_SHOW),
            &json!({ "token": session, "client_ip": "203.0.113.9" }),
        )
        .await;
    assert_status(&show, "invalid-param", 400);
    assert!(show.message().contains("`client_ip`"));
    let guest = env
        .call_encoded(
            env.route(routes::SESSIONS_CREATE),
            &json!({ "token": token, "client_ip": "not-an-address" }),
        )
        .await;
    assert_status(&guest, "invalid-param", 400);
    assert!(guest.message().contains("`client_ip`"));
    let guest = env
        .call_encoded(
            env.route(routes::SESSIONS_CREATE),
            &json!({ "token": token, "client_ip": "2001:db8::7" }),
        )
        .await;
    assert_status(&guest, "action-successful", 200);
}

fn registration(token: &str, email: &str) -> Value {
    json!({
        "token": token,
        "email": email,
        "password": PASSWORD,
        "first_name": "Berenice",
        "last_name": "Abbott",
        "phone": "+1 555 010 4000",
    })
}

#[tokio::test]
async fn registrations_are_limited_per_guest_session_and_per_end_user() {
    let (env, token) = setup(TestEnv::new().await).await;
    let taken = env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let endpoint = UsersClientRegister {
        limits: RegistrationLimits {
            registrations: Limits {
                per_person: limit(3),
                per_end_user: limit(5),
                ..Limits::REGISTRATIONS
            },
            ..RegistrationLimits::default()
        },
    };
    // A guest probing which addresses are taken: three answers, then no more.
    let guest = env.guest_session().await;
    for _ in 0..3 {
        let probe = env
            .call_encoded(&endpoint, &registration(&guest, &taken.email))
            .await;
        assert_status(&probe, "invalid-param", 400);
        assert!(probe.message().contains("`email`"));
    }
    let probe = env
        .call_encoded(&endpoint, &registration(&guest, &taken.email))
        .await;
    assert_status(&probe, "too-many-attempts", 429);
    // The same source, with fresh guest sessions, gets two more, then none either.
    for expected in ["invalid-param", "invalid-param", "too-many-attempts"] {
        let guest = env.guest_session().await;
        let probe = env
            .call_encoded(&endpoint, &registration(&guest, &taken.email))
            .await;
        assert_eq!(probe.status(), expected, "{}", probe.body);
    }
    // An application's server registering for another end user is not held back.
    let direct = from(
        &registration(&token, &env.unique_email("client")),
        &end_user(),
    );
    assert_status(
        &env.call_encoded(&endpoint, &direct).await,
        "action-successful",
        200,
    );
}

#[tokio::test]
async fn a_server_that_names_no_end_user_is_not_limited_as_one() {
    let (env, token) = setup(TestEnv::new().await).await;
    let endpoint = SessionsCreate {
        limits: Limits {
            per_end_user: limit(3),
            ..Limits::PASSWORDS
        },
    };
    // Without client_ip, the strangers a server's public page passes on share no budget
    // small enough for them to lock every user of the application out.
    for _ in 0..5 {
        let spray = json!({ "token": token, "email": env.unique_email("sprayed"), "password": "wrong-Guess-1-aaa" });
        assert_status(&sign_in(&env, &endpoint, spray).await, "invalid-param", 400);
    }
}
