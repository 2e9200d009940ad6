//! TOTP and recovery codes against the local stack (its KMS sealing the secrets, its SES
//! keeping the notices): enrolment and its recent proof, sign-in with a second factor and
//! its challenge, each code used once (racing requests too), turning TOTP off, new
//! recovery codes, and roles that require a second factor. Codes are computed here from
//! the secret the enrolment shows, as an authenticator app would.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::domain::Application::PlanoAuth;
use planoauth::domain::{AuditAction, RECENT_PROOF, STEP_SECONDS, TotpSecret};
use planoauth::routes::{self, Route};
use planoauth_tests::{
    Answer, TestEnv, assert_no_server_errors, assert_status, assert_the_race_met_conflicts,
    injected, race_faults, set_faults, tally,
};
use serde_json::{Value, json};

const PASSWORD: &str = "quiet-Lantern-58-meadow";

struct Setup {
    env: TestEnv,
    /// An application token that may open sessions.
    server: String,
}

/// A member of staff with TOTP on: their id, address, a session, the secret and the
/// recovery codes.
struct Enrolled {
    id: i64,
    email: String,
    session: String,
    secret: TotpSecret,
    recovery_codes: Vec<String>,
}

async fn setup() -> Setup {
    setup_on(TestEnv::new().await).await
}

async fn setup_on(env: TestEnv) -> Setup {
    let server = env.application_token(PlanoAuth, &["sessions.create"]).await;
    Setup { env, server }
}

impl Setup {
    async fn call(&self, route: Route, params: Value) -> Answer {
        self.env.call(self.env.route(route), &params).await
    }

    /// A member of staff who signs in with [`PASSWORD`], with the roles `roles`: their
    /// id, address and a fresh session.
    async fn staff_with(
        &self,
        roles: &[(planoauth::domain::Application, &str)],
    ) -> (i64, String, String) {
        let employee = self.env.employee_with_password(roles, Some(PASSWORD)).await;
        let session = self.env.session(employee.id, PlanoAuth, false).await;
        (employee.id, employee.email, session)
    }

    async fn enroll(&self, session: &str) -> Answer {
        self.call(routes::USERS_TOTP_ENROLL, json!({ "token": session }))
            .await
    }

    async fn confirm(&self, session: &str, ceremony: &str, code: &str) -> Answer {
        let params = json!({ "token": session, "ceremony": ceremony, "totp_code": code });
        self.call(routes::USERS_TOTP_CONFIRM, params).await
    }

    /// A member of staff with TOTP turned on through the routes.
    async fn enrolled(&self) -> Enrolled {
        let (id, email, session) = self.staff_with(&[(PlanoAuth, "staff")]).await;
        let (secret, recovery_codes) = self.turn_on(&session).await;
        Enrolled {
            id,
            email,
            session,
            secret,
            recovery_codes,
        }
    }

    /// Turns TOTP on for the session's user; the secret and the recovery codes.
    async fn turn_on(&self, session: &str) -> (TotpSecret, Vec<String>) {
        let started = self.enroll(session).await;
        assert_status(&started, "action-successful", 200);
        let secret = TotpSecret::from_base32(started.data()["secret"].as_str().unwrap()).unwrap();
        let ceremony = started.data()["ceremony"].as_str().unwrap();
        let code = secret.code_at(self.env.now());
        let confirmed = self.confirm(session, ceremony, &code).await;
        assert_status(&confirmed, "action-successful", 200);
        let codes = confirmed.data()["recovery_codes"].as_array().unwrap();
        let codes = codes
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        (secret, codes)
    }

    async fn sign_in(&self, email: &str, password: &str) -> Answer {
        let params = json!({ "token": self.server, "email": email, "password": password });
        self.env
            .call_encoded(self.env.route(routes::SESSIONS_CREATE), &params)
            .await
    }

    /// Signs in with the password: the challenge the answer holds.
    async fn challenge(&self, email: &str) -> String {
        let answer = self.sign_in(email, PASSWORD).await;
        assert_status(&answer, "second-factor-required", 401);
        answer.data()["challenge"].as_str().unwrap().to_owned()
    }

    async fn second_factor(&self, challenge: &str, code: Value) -> Answer {
        let params = with_code(
            json!({ "token": self.server, "challenge": challenge }),
            code,
        );
        self.call(routes::SESSIONS_SECOND_FACTOR, params).await
    }

    /// The code an authenticator app shows `steps` steps from now.
    fn code(&self, secret: &TotpSecret, steps: i64) -> String {
        secret.code_at(self.env.now() + steps * STEP_SECONDS)
    }

    /// Adds a passkey of a software authenticator for the session's user: its id.
    async fn add_passkey(&self, session: &str) -> String {
        let mut authenticator = planoauth_tests::authenticator::SoftwareAuthenticator::new(
            planoauth_tests::PASSKEY_ORIGIN,
        );
        let started = self
            .call(routes::PASSKEYS_REGISTER_START, json!({ "token": session }))
            .await;
        assert_status(&started, "action-successful", 200);
        let credential = authenticator
            .register(&started.data()["options"])
            .await
            .unwrap();
        let params = json!({
            "token": session,
            "ceremony": started.data()["ceremony"],
            "credential": credential,
        });
        let added = self.call(routes::PASSKEYS_REGISTER_FINISH, params).await;
        assert_status(&added, "action-successful", 200);
        added.data()["id"].as_str().unwrap().to_owned()
    }

    /// The operator's mailer, on the local SES.
    fn mailer(&self) -> planoauth::mail::Mailer {
        planoauth::mail::Mailer::new(
            self.env.ses.clone(),
            planoauth_tests::SENDER,
            planoauth_tests::links(),
        )
    }

    /// A role of PlanoAuth's, new, that requires a second factor.
    async fn guarded_role(&self) -> String {
        let role = format!("guarded-{}", &planoauth::tokens::random_id()[..8]);
        self.env
            .admin(&format!(
                "role put --application planoauth --role {role} --permissions employees.update \
                 --second-factor required"
            ))
            .await
            .unwrap();
        role
    }

    async fn subjects(&self, address: &str) -> Vec<String> {
        self.env
            .sent_emails(address)
            .await
            .iter()
            .filter_map(|m| m["subject"].as_str().map(str::to_owned))
            .collect()
    }

    /// Every email sent to `address`, whole, for looking for secrets in.
    async fn mail_text(&self, address: &str) -> String {
        Value::from(self.env.sent_emails(address).await).to_string()
    }
}

/// `params` with a code's parameter (`{"totp_code": ...}` or `{"recovery_code": ...}`).
fn with_code(mut params: Value, code: Value) -> Value {
    params
        .as_object_mut()
        .unwrap()
        .extend(code.as_object().unwrap().clone());
    params
}

/// A six-digit code that is none of the secret's codes around now.
fn wrong_code(secret: &TotpSecret, now: i64) -> String {
    let window: Vec<String> = (-2..=2)
        .map(|step| secret.code_at(now + step * STEP_SECONDS))
        .collect();
    (0..100)
        .map(|n| format!("{:06}", 123_400 + n))
        .find(|code| !window.contains(code))
        .unwrap()
}

#[tokio::test]
async fn enrolment_turns_totp_on_with_a_code_of_its_secret_and_shows_the_recovery_codes_once() {
    let s = setup().await;
    let (id, email, session) = s.staff_with(&[(PlanoAuth, "staff")]).await;
    let started = s.enroll(&session).await;
    assert_status(&started, "action-successful", 200);
    let data = started.data();
    let base32 = data["secret"].as_str().unwrap();
    let secret = TotpSecret::from_base32(base32).unwrap();
    assert_eq!(secret.as_bytes().len(), 20, "160 bits");
    let uri = data["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/PlanoAuth:"), "{uri}");
    assert!(uri.contains(&format!("secret={base32}")), "{uri}");
    assert!(
        uri.contains("issuer=PlanoAuth") && uri.contains("digits=6") && uri.contains("period=30")
    );
    assert!(
        uri.contains(&email.replace('+', "%2B")),
        "{uri} names {email}"
    );
    let ceremony = data["ceremony"].as_str().unwrap();

    // A wrong code leaves TOTP off and the enrolment open; the right one turns it on.
    let wrong = s
        .confirm(&session, ceremony, &wrong_code(&secret, s.env.now()))
        .await;
    assert_status(&wrong, "invalid-param", 400);
    assert!(
        wrong.message().contains("`totp_code`"),
        "{}",
        wrong.message()
    );
    assert!(
        s.env
            .app
            .db
            .second_factors()
            .totp(id)
            .await
            .unwrap()
            .is_none()
    );
    let confirmed = s
        .confirm(&session, ceremony, &secret.code_at(s.env.now()))
        .await;
    assert_status(&confirmed, "action-successful", 200);
    let codes: Vec<String> = confirmed.data()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let totp = s
        .env
        .app
        .db
        .second_factors()
        .totp(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(totp.recovery_codes.len(), 10);
    assert_eq!(
        totp.last_step,
        s.env.now() / STEP_SECONDS,
        "the confirming code counts as used"
    );

    // The secret is stored sealed, the recovery codes as hashes: neither in the clear
    // anywhere in the users table or the audit trail.
    let item = s
        .env
        .app
        .db
        .client
        .get_item()
        .table_name(&s.env.app.db.tables.users)
        .key("id", planoauth::store::number(id))
        .send()
        .await
        .unwrap()
        .item;
    let audited = s.env.app.db.audit().for_user(id).await.unwrap();
    let stored = format!("{item:?}{audited:?}");
    assert!(!stored.contains(base32), "the secret in the clear");
    assert!(
        !totp
            .sealed_secret
            .windows(20)
            .any(|w| w == secret.as_bytes())
    );
    for code in &codes {
        assert!(
            !stored.contains(code.as_str()),
            "a recovery code in the clear"
        );
    }
    assert!(audited.iter().any(|e| e.action == AuditAction::TotpEnabled));

    // The enrolment is used up; TOTP on once.
    let again = s.confirm(&session, ceremony, &s.code(&secret, 1)).await;
    assert_status(&again, "invalid-param", 400);
    assert!(
        again.message().contains("`ceremony`"),
        "{}",
        again.message()
    );
    let twice = s.enroll(&session).await;
    assert_status(&twice, "permission-denied", 403);

    // Exactly one notice, with no secret in it.
    let subjects = s.subjects(&email).await;
    let turned_on = "Two-step sign-in was turned on for your PlanoAuth account";
    assert_eq!(
        subjects.iter().filter(|s| *s == turned_on).count(),
        1,
        "{subjects:?}"
    );
    let mail = s.mail_text(&email).await;
    assert!(!mail.contains(base32));
    assert!(codes.iter().all(|code| !mail.contains(code.as_str())));
}

#[tokio::test]
async fn enrolment_needs_a_recent_proof_and_ends_after_five_wrong_codes() {
    let s = setup().await;
    let (_, _, session) = s.staff_with(&[(PlanoAuth, "staff")]).await;
    let started = s.enroll(&session).await;
    let secret = TotpSecret::from_base32(started.data()["secret"].as_str().unwrap()).unwrap();
    let ceremony = started.data()["ceremony"].as_str().unwrap().to_owned();
    let wrong = wrong_code(&secret, s.env.now());
    for _ in 0..5 {
        let refused = s.confirm(&session, &ceremony, &wrong).await;
        assert_status(&refused, "invalid-param", 400);
        assert!(
            refused.message().contains("`totp_code`"),
            "{}",
            refused.message()
        );
    }
    let ended = s
        .confirm(&session, &ceremony, &secret.code_at(s.env.now()))
        .await;
    assert_status(&ended, "invalid-param", 400);
    assert!(
        ended.message().contains("`ceremony`"),
        "{}",
        ended.message()
    );

    // Another session of the same user cannot finish this one's enrolment.
    let started = s.enroll(&session).await;
    let ceremony = started.data()["ceremony"].as_str().unwrap();
    let (other_user, _, other) = s.staff_with(&[(PlanoAuth, "staff")]).await;
    let foreign = s.confirm(&other, ceremony, "123456").await;
    assert!(
        foreign.message().contains("`ceremony`"),
        "{}",
        foreign.message()
    );
    assert!(
        s.env
            .app
            .db
            .second_factors()
            .totp(other_user)
            .await
            .unwrap()
            .is_none()
    );

    s.env.advance(RECENT_PROOF + 1);
    let stale = s.enroll(&session).await;
    assert_status(&stale, "reauthentication-required", 403);
}

#[tokio::test]
async fn a_right_password_asks_for_the_second_factor_and_a_code_opens_the_session() {
    let s = setup().await;
    let user = s.enrolled().await;
    let emails_before = s.env.sent_emails(&user.email).await.len();

    // A wrong password is answered as it is for an account without TOTP.
    let plain = s
        .env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(PASSWORD))
        .await;
    let wrong_with = s.sign_in(&user.email, "not-the-Password-1").await;
    let wrong_without = s.sign_in(&plain.email, "not-the-Password-1").await;
    assert_status(&wrong_with, "invalid-param", 400);
    assert_eq!(wrong_with.message(), wrong_without.message());
    assert_eq!(wrong_with.data(), wrong_without.data());

    let answer = s.sign_in(&user.email, PASSWORD).await;
    assert_status(&answer, "second-factor-required", 401);
    assert_eq!(answer.data()["methods"], json!(["totp", "recovery_code"]));
    assert!(
        answer.session().is_null(),
        "no session before the second factor"
    );
    let challenge = answer.data()["challenge"].as_str().unwrap();

    let opened = s
        .second_factor(challenge, json!({ "totp_code": s.code(&user.secret, 1) }))
        .await;
    assert_status(&opened, "action-successful", 200);
    let session = opened.session();
    assert_eq!(session["user_id"], user.id);
    assert_eq!(session["factors"], 2);
    let token = session["token"].as_str().unwrap();
    let shown = s
        .call(routes::SESSIONS_SHOW, json!({ "token": token }))
        .await;
    assert_status(&shown, "action-successful", 200);
    assert_eq!(
        s.env.sent_emails(&user.email).await.len(),
        emails_before,
        "a sign-in with a second factor sends no email"
    );

    // The challenge is used up.
    let again = s
        .second_factor(challenge, json!({ "totp_code": s.code(&user.secret, 1) }))
        .await;
    assert!(
        again.message().contains("`challenge`"),
        "{}",
        again.message()
    );
}

#[tokio::test]
async fn a_used_totp_code_is_refused_counted_and_told_to_the_owner() {
    let s = setup().await;
    let user = s.enrolled().await;
    let code = s.code(&user.secret, 1);
    let first = s
        .second_factor(
            &s.challenge(&user.email).await,
            json!({ "totp_code": code }),
        )
        .await;
    assert_status(&first, "action-successful", 200);
    let reused = s
        .second_factor(
            &s.challenge(&user.email).await,
            json!({ "totp_code": code }),
        )
        .await;
    assert_status(&reused, "invalid-param", 400);
    assert!(reused.message().contains("`totp_code`") && reused.message().contains("used already"));
    // The confirming code, an older step, is refused as used too.
    let older = s
        .second_factor(
            &s.challenge(&user.email).await,
            json!({ "totp_code": s.code(&user.secret, 0) }),
        )
        .await;
    assert!(
        older.message().contains("used already"),
        "{}",
        older.message()
    );
    let subjects = s.subjects(&user.email).await;
    let tried = "A used code was tried on your PlanoAuth account";
    assert_eq!(
        subjects.iter().filter(|s| *s == tried).count(),
        2,
        "{subjects:?}"
    );
    assert!(!s.mail_text(&user.email).await.contains(&code));

    // The next step's code works.
    s.env.advance(2 * STEP_SECONDS);
    let next = s
        .second_factor(
            &s.challenge(&user.email).await,
            json!({ "totp_code": s.code(&user.secret, 0) }),
        )
        .await;
    assert_status(&next, "action-successful", 200);
}

#[tokio::test]
async fn a_deactivated_employee_is_refused_once_the_second_factor_is_proved() {
    let s = setup().await;
    let user = s.enrolled().await;
    let line = format!("employee update --user {} --active false", user.id);
    s.env.admin_mailing(Some(s.mailer()), &line).await.unwrap();
    // The password alone does not tell that the record is inactive.
    let challenge = s.challenge(&user.email).await;
    let refused = s
        .second_factor(&challenge, json!({ "totp_code": s.code(&user.secret, 1) }))
        .await;
    assert_status(&refused, "permission-denied", 403);
    assert!(refused.session().is_null());
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_tells_the_owner() {
    let s = setup().await;
    let user = s.enrolled().await;
    let code = user.recovery_codes[4].to_uppercase();
    let opened = s
        .second_factor(
            &s.challenge(&user.email).await,
            json!({ "recovery_code": code }),
        )
        .await;
    assert_status(&opened, "action-successful", 200);
    assert_eq!(opened.session()["factors"], 2);
    let again = s
        .second_factor(
            &s.challenge(&user.email).await,
            json!({ "recovery_code": code }),
        )
        .await;
    assert_status(&again, "invalid-param", 400);
    assert!(
        again.message().contains("`recovery_code`"),
        "{}",
        again.message()
    );
    let used = "A recovery code of your PlanoAuth account was used";
    let subjects = s.subjects(&user.email).await;
    assert_eq!(
        subjects.iter().filter(|s| *s == used).count(),
        1,
        "{subjects:?}"
    );
    let mail = s.mail_text(&user.email).await;
    assert!(
        user.recovery_codes
            .iter()
            .all(|c| !mail.contains(c.as_str()))
    );
    let left = s
        .env
        .app
        .db
        .second_factors()
        .totp(user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.recovery_codes.len(), 9);

    // Both codes at once is a mistake, named.
    let both = s
        .second_factor(
            &s.challenge(&user.email).await,
            json!({ "totp_code": s.code(&user.secret, 1), "recovery_code": user.recovery_codes[0] }),
        )
        .await;
    assert_status(&both, "invalid-param", 400);
    let neither = s
        .second_factor(&s.challenge(&user.email).await, json!({}))
        .await;
    assert_status(&neither, "missing-param", 400);
}

#[tokio::test]
async fn a_challenge_is_its_servers_ends_after_five_wrong_codes_and_expires() {
    let s = setup().await;
    let user = s.enrolled().await;
    let challenge = s.challenge(&user.email).await;
    let other_server = s
        .env
        .application_token(PlanoAuth, &["sessions.create"])
        .await;
    let params = json!({
        "token": other_server,
        "challenge": challenge,
        "totp_code": s.code(&user.secret, 1),
    });
    let foreign = s.call(routes::SESSIONS_SECOND_FACTOR, params).await;
    assert!(
        foreign.message().contains("`challenge`"),
        "{}",
        foreign.message()
    );

    let wrong = wrong_code(&user.secret, s.env.now());
    for _ in 0..5 {
        let refused = s
            .second_factor(&challenge, json!({ "totp_code": wrong }))
            .await;
        assert_status(&refused, "invalid-param", 400);
        assert!(
            refused.message().contains("`totp_code`"),
            "{}",
            refused.message()
        );
    }
    let ended = s
        .second_factor(&challenge, json!({ "totp_code": s.code(&user.secret, 1) }))
        .await;
    assert!(
        ended.message().contains("`challenge`"),
        "{}",
        ended.message()
    );

    let late = s.challenge(&user.email).await;
    s.env.advance(5 * 60 + 1);
    let expired = s
        .second_factor(&late, json!({ "totp_code": s.code(&user.secret, 0) }))
        .await;
    assert!(
        expired.message().contains("`challenge`"),
        "{}",
        expired.message()
    );
}

#[tokio::test]
async fn wrong_codes_count_against_the_accounts_sign_in_limit() {
    let s = setup().await;
    let user = s.enrolled().await;
    let wrong = wrong_code(&user.secret, s.env.now());
    let mut throttled = None;
    // 100 wrong attempts an hour per account (see `Limits::PASSWORDS`): 20 challenges of
    // five wrong codes each reach it; the sign-ins' right passwords give theirs back.
    for round in 0..25 {
        let answer = s.sign_in(&user.email, PASSWORD).await;
        if answer.status() == "too-many-attempts" {
            throttled = Some(round);
            break;
        }
        let challenge = answer.data()["challenge"].as_str().unwrap().to_owned();
        for _ in 0..5 {
            let refused = s
                .second_factor(&challenge, json!({ "totp_code": wrong }))
                .await;
            if refused.status() == "too-many-attempts" {
                throttled = Some(round);
                break;
            }
        }
        if throttled.is_some() {
            break;
        }
    }
    assert_eq!(
        throttled,
        Some(20),
        "the account's limit is reached by wrong codes"
    );
}

#[tokio::test]
async fn racing_requests_with_one_code_open_one_session() {
    let s = setup_on(TestEnv::isolated("totp-race").await).await;
    let user = s.enrolled().await;
    let code = s.code(&user.secret, 1);
    let mut challenges = Vec::new();
    for _ in 0..2 {
        challenges.push(s.challenge(&user.email).await);
    }
    let before = injected(&s.env.prefix).await;
    set_faults(&s.env.prefix, race_faults(40)).await;
    let answers = futures_util::future::join_all(
        (0..10).map(|n| s.second_factor(&challenges[n % 2], json!({ "totp_code": code }))),
    )
    .await;
    set_faults(&s.env.prefix, json!({})).await;
    assert_no_server_errors(&answers);
    assert_the_race_met_conflicts(&s.env.prefix, &before).await;
    let counts = tally(&answers);
    assert_eq!(counts.get("action-successful"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.values().sum::<usize>(),
        counts["action-successful"] + counts.get("invalid-param").copied().unwrap_or(0),
        "{counts:?}"
    );
    let listed = s
        .env
        .app
        .db
        .account_sessions()
        .listed(user.id)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "the enrolling session and one new one");
    s.env.assert_nothing_half_written().await;
}

#[tokio::test]
async fn turning_totp_off_and_new_recovery_codes_need_a_code_and_tell_the_owner() {
    let s = setup().await;
    let user = s.enrolled().await;
    let regenerate = |code: Value| {
        let params = with_code(json!({ "token": user.session }), code);
        s.call(routes::USERS_RECOVERY_CODES_REGENERATE, params)
    };
    let wrong = regenerate(json!({ "totp_code": wrong_code(&user.secret, s.env.now()) })).await;
    assert_status(&wrong, "invalid-param", 400);
    let renewed = regenerate(json!({ "totp_code": s.code(&user.secret, 1) })).await;
    assert_status(&renewed, "action-successful", 200);
    let new_codes: Vec<String> = renewed.data()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !user.recovery_codes.contains(c)));

    let disable = |code: Value| {
        let params = with_code(json!({ "token": user.session }), code);
        s.call(routes::USERS_TOTP_DISABLE, params)
    };
    let old = disable(json!({ "recovery_code": user.recovery_codes[0] })).await;
    assert_status(&old, "invalid-param", 400);
    assert!(
        old.message().contains("`recovery_code`"),
        "{}",
        old.message()
    );
    let off = disable(json!({ "recovery_code": new_codes[0] })).await;
    assert_status(&off, "action-successful", 200);
    assert!(
        s.env
            .app
            .db
            .second_factors()
            .totp(user.id)
            .await
            .unwrap()
            .is_none()
    );
    let audited = s.env.app.db.audit().for_user(user.id).await.unwrap();
    for action in [
        AuditAction::RecoveryCodesRegenerated,
        AuditAction::TotpDisabled,
    ] {
        assert!(audited.iter().any(|e| e.action == action), "{action:?}");
    }

    // The password alone signs in again.
    let signed_in = s.sign_in(&user.email, PASSWORD).await;
    assert_status(&signed_in, "action-successful", 200);
    assert_eq!(signed_in.session()["factors"], 1);

    let subjects = s.subjects(&user.email).await;
    for subject in [
        "New recovery codes for your PlanoAuth account",
        "A recovery code of your PlanoAuth account was used",
        "Two-step sign-in was turned off for your PlanoAuth account",
    ] {
        let sent = subjects.iter().filter(|s| *s == subject).count();
        assert_eq!(sent, 1, "{subject}: {subjects:?}");
    }
    let mail = s.mail_text(&user.email).await;
    assert!(new_codes.iter().all(|c| !mail.contains(c.as_str())));

    // Off, there is nothing to turn off or renew.
    let nothing = disable(json!({ "totp_code": s.code(&user.secret, 1) })).await;
    assert_status(&nothing, "permission-denied", 403);
    s.env.advance(RECENT_PROOF + 1);
    let stale = regenerate(json!({ "recovery_code": new_codes[1] })).await;
    assert_status(&stale, "reauthentication-required", 403);
}

#[tokio::test]
async fn a_role_that_requires_a_second_factor_holds_its_users_to_enrolling_one() {
    let s = setup().await;
    let role = format!("guarded-{}", &planoauth::tokens::random_id()[..8]);
    let put = s
        .env
        .admin(&format!(
            "role put --application planoauth --role {role} --permissions employees.update \
             --second-factor required"
        ))
        .await
        .unwrap();
    assert_eq!(put["second_factor_required"], true);
    let employee = s
        .env
        .employee_with_password(&[(PlanoAuth, role.as_str())], Some(PASSWORD))
        .await;
    let signed_in = s.sign_in(&employee.email, PASSWORD).await;
    assert_status(&signed_in, "action-successful", 200);
    assert_eq!(
        signed_in.session()["second_factor_enrolment_required"],
        true
    );
    let session = signed_in.session()["token"].as_str().unwrap().to_owned();

    let update = json!({
        "token": session,
        "id": employee.id,
        "email": employee.email,
        "first_name": "Grace",
    });
    let held = s.call(routes::EMPLOYEES_UPDATE, update.clone()).await;
    assert_status(&held, "second-factor-enrolment-required", 403);
    assert!(!held.session().is_null(), "with the session");
    let listed = s
        .call(routes::PASSKEYS_LIST, json!({ "token": session }))
        .await;
    assert_status(&listed, "second-factor-enrolment-required", 403);
    let shown = s
        .call(routes::SESSIONS_SHOW, json!({ "token": session }))
        .await;
    assert_status(&shown, "action-successful", 200);

    // Enrolling is open to it; once on, the session may do what the role allows.
    let (secret, _) = s.turn_on(&session).await;
    let updated = s.call(routes::EMPLOYEES_UPDATE, update).await;
    assert_status(&updated, "action-successful", 200);
    // TOTP, its only second factor, stays on while the role requires one.
    let params = json!({ "token": session, "totp_code": s.code(&secret, 1) });
    let off = s.call(routes::USERS_TOTP_DISABLE, params).await;
    assert_status(&off, "permission-denied", 403);
}

#[tokio::test]
async fn a_sign_in_with_a_breached_password_keeps_its_owed_change_through_the_second_factor() {
    let s = setup().await;
    let breached = "iloveyou1234";
    let employee = s
        .env
        .employee_with_password(&[(PlanoAuth, "staff")], Some(breached))
        .await;
    let session = s.env.session(employee.id, PlanoAuth, false).await;
    let (secret, _) = s.turn_on(&session).await;
    let answer = s.sign_in(&employee.email, breached).await;
    assert_status(&answer, "second-factor-required", 401);
    let challenge = answer.data()["challenge"].as_str().unwrap();
    let opened = s
        .second_factor(challenge, json!({ "totp_code": s.code(&secret, 1) }))
        .await;
    assert_status(&opened, "action-successful", 200);
    assert_eq!(opened.session()["password_change_required"], true);
}

#[tokio::test]
async fn an_operator_turns_off_the_totp_of_a_user_who_lost_it_and_the_owner_is_told() {
    let s = setup().await;
    let user = s.enrolled().await;
    let line = format!("totp off --user {}", user.id);
    let mailer = s.mailer();
    let off = s
        .env
        .admin_mailing(Some(mailer.clone()), &line)
        .await
        .unwrap();
    assert_eq!(off["totp_turned_off"], true);
    assert!(
        s.env
            .app
            .db
            .second_factors()
            .totp(user.id)
            .await
            .unwrap()
            .is_none()
    );
    let audited = s.env.app.db.audit().for_user(user.id).await.unwrap();
    assert!(
        audited
            .iter()
            .any(|e| e.action == AuditAction::TotpDisabled)
    );
    let subjects = s.subjects(&user.email).await;
    let turned_off = "Two-step sign-in was turned off for your PlanoAuth account";
    assert_eq!(
        subjects.iter().filter(|s| *s == turned_off).count(),
        1,
        "{subjects:?}"
    );
    let signed_in = s.sign_in(&user.email, PASSWORD).await;
    assert_status(&signed_in, "action-successful", 200);
    let again = s.env.admin_mailing(Some(mailer), &line).await.unwrap();
    assert_eq!(again["totp_turned_off"], false, "off already");
}

#[tokio::test]
async fn a_required_second_factor_that_is_a_passkey_is_not_passed_by_the_password_alone() {
    let s = setup().await;
    let role = s.guarded_role().await;
    let (_, email, session) = s.staff_with(&[(PlanoAuth, role.as_str())]).await;
    let passkey = s.add_passkey(&session).await;

    let answer = s.sign_in(&email, PASSWORD).await;
    assert_status(&answer, "second-factor-required", 401);
    assert_eq!(answer.data()["methods"], json!(["passkey"]));
    assert!(answer.data()["challenge"].is_null(), "no code answers it");
    assert!(answer.session().is_null());

    // The passkey, the account's only second factor, stays while the role requires one.
    let params = json!({ "token": session, "passkey_id": passkey });
    let removed = s.call(routes::PASSKEYS_DELETE, params).await;
    assert_status(&removed, "permission-denied", 403);
}

#[tokio::test]
async fn under_a_role_that_requires_one_a_second_factor_goes_while_another_stays() {
    let s = setup().await;
    let role = s.guarded_role().await;
    let (id, _, session) = s.staff_with(&[(PlanoAuth, role.as_str())]).await;
    let passkey = s.add_passkey(&session).await;
    let (secret, _) = s.turn_on(&session).await;
    let params = json!({ "token": session, "totp_code": s.code(&secret, 1) });
    let off = s.call(routes::USERS_TOTP_DISABLE, params).await;
    assert_status(&off, "action-successful", 200);

    let (secret, _) = s.turn_on(&session).await;
    let params = json!({ "token": session, "passkey_id": passkey });
    let removed = s.call(routes::PASSKEYS_DELETE, params).await;
    assert_status(&removed, "action-successful", 200);
    let params = json!({ "token": session, "totp_code": s.code(&secret, 1) });
    let last = s.call(routes::USERS_TOTP_DISABLE, params).await;
    assert_status(&last, "permission-denied", 403);
    let account = s.env.app.db.users().account(id).await.unwrap().unwrap();
    assert_eq!((account.passkeys, account.totp.is_some()), (0, true));
}

#[tokio::test]
async fn an_operator_turning_off_a_required_totp_leaves_the_sessions_owing_one() {
    let s = setup().await;
    let role = s.guarded_role().await;
    let (id, _, session) = s.staff_with(&[(PlanoAuth, role.as_str())]).await;
    s.turn_on(&session).await;
    let shown = s
        .call(routes::SESSIONS_SHOW, json!({ "token": session }))
        .await;
    assert_eq!(shown.session()["second_factor_enrolment_required"], false);

    let line = format!("totp off --user {id}");
    let off = s.env.admin_mailing(Some(s.mailer()), &line).await.unwrap();
    assert_eq!(off["totp_turned_off"], true);
    let shown = s
        .call(routes::SESSIONS_SHOW, json!({ "token": session }))
        .await;
    assert_eq!(shown.session()["second_factor_enrolment_required"], true);
    let listed = s
        .call(routes::PASSKEYS_LIST, json!({ "token": session }))
        .await;
    assert_status(&listed, "second-factor-enrolment-required", 403);
}

#[tokio::test]
async fn racing_removals_leave_a_second_factor_that_a_role_requires() {
    let s = setup_on(TestEnv::isolated("second-factor-removals").await).await;
    let role = s.guarded_role().await;
    let (id, _, session) = s.staff_with(&[(PlanoAuth, role.as_str())]).await;
    let (secret, _) = s.turn_on(&session).await;
    let passkey = s.add_passkey(&session).await;

    // Each removal sees two second factors before it writes; one of them is the last.
    set_faults(&s.env.prefix, race_faults(40)).await;
    let off = json!({ "token": session, "totp_code": s.code(&secret, 1) });
    let delete = json!({ "token": session, "passkey_id": passkey });
    let (off, delete) = futures_util::join!(
        s.call(routes::USERS_TOTP_DISABLE, off),
        s.call(routes::PASSKEYS_DELETE, delete),
    );
    set_faults(&s.env.prefix, json!({})).await;
    let answers = [off, delete];
    assert_no_server_errors(&answers);
    let counts = tally(&answers);
    assert_eq!(counts.get("action-successful"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("permission-denied"), Some(&1), "{counts:?}");
    let account = s.env.app.db.users().account(id).await.unwrap().unwrap();
    assert_eq!(account.second_factors(), 1, "one second factor left");
    s.env.assert_nothing_half_written().await;
}
