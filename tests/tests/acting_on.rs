//! Whom a caller may act on: `employees/update` changes a person only for a caller that
//! holds, in every application where that person holds a role, at least that person's
//! permissions; an address change ends the person's reset token and tells both addresses.
//! Against the local stack, through the entry point Lambda calls.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::Status;
use planoauth::domain::Application::{self, PlanoAuth, PlanoOrder, PlanoX2};
use planoauth::domain::{ActedOn, AuditAction, Email, Employee, EmployeeChanges};
use planoauth::routes;
use planoauth::use_cases::{EmployeeUpdate, write_employee_update};
use planoauth_tests::{
    Answer, SENDER, TestEnv, assert_status, injected, links, set_faults, update_employee,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const PASSWORD: &str = "amber-Falcon-52-meadow";

fn everywhere(role: &str) -> Vec<(Application, &str)> {
    Application::ALL.iter().map(|app| (*app, role)).collect()
}

/// An employee holding `roles`, who signs in with `PASSWORD`, and a session of theirs.
async fn person(env: &TestEnv, roles: &[(Application, &str)]) -> (Employee, String) {
    let employee = env.employee_with_password(roles, Some(PASSWORD)).await;
    let application = roles.first().map_or(PlanoAuth, |(app, _)| *app);
    let session = env.session(employee.id, application, false).await;
    (employee, session)
}

async fn stored(env: &TestEnv, id: i64) -> Employee {
    env.app.db.employees().find(id).await.unwrap().unwrap()
}

/// The audit records of changes to `id`'s employee record.
async fn updates_audited(env: &TestEnv, id: i64) -> usize {
    let entries = env.admin(&format!("audit --user {id}")).await.unwrap();
    entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| {
            [
                AuditAction::EmployeeUpdated,
                AuditAction::EmployeeDeactivated,
            ]
            .iter()
            .any(|action| entry["action"] == action.slug())
        })
        .count()
}

fn assert_denied(answer: &Answer) {
    assert_status(answer, "permission-denied", 403);
}

/// Every change a caller below `target` tries: the address, the kill switch, a name.
fn attempts(env: &TestEnv) -> [Value; 3] {
    [
        json!({ "email": env.unique_email("taken-over") }),
        json!({ "active": false }),
        json!({ "first_name": "Mallory" }),
    ]
}

/// Asserts that every change of `attempts` by `caller` on `target` is refused and that
/// nothing of the target changed: the record, its address's owner, its audit trail.
async fn assert_cannot_touch(env: &TestEnv, caller: &str, target: &Employee) {
    for change in attempts(env) {
        assert_denied(&update_employee(env, caller, target, change).await);
    }
    let after = stored(env, target.id).await;
    assert_eq!(after, *target, "nothing of the target was written");
    let owner = env.app.db.emails().owner(&target.email).await.unwrap();
    assert_eq!(owner, Some(target.id));
    assert_eq!(updates_audited(env, target.id).await, 0);
}

#[tokio::test]
async fn a_manager_cannot_change_an_admin() {
    let env = TestEnv::new().await;
    let (admin, _) = person(&env, &everywhere("admin")).await;
    let (_, manager) = person(&env, &[(PlanoAuth, "manager")]).await;
    assert_cannot_touch(&env, &manager, &admin).await;
    // The same manager may change a member of staff.
    let (staff, _) = person(&env, &[(PlanoAuth, "staff")]).await;
    let moved = env.unique_email("staff-moved");
    let answer = update_employee(&env, &manager, &staff, json!({ "email": moved })).await;
    assert_status(&answer, "action-successful", 200);
}

#[tokio::test]
async fn a_manager_of_another_application_is_nobody_here() {
    let env = TestEnv::new().await;
    let (_, x2_manager) = person(&env, &[(PlanoX2, "manager")]).await;
    let (auth_admin, _) = person(&env, &[(PlanoAuth, "admin")]).await;
    assert_cannot_touch(&env, &x2_manager, &auth_admin).await;
    let (auth_manager, _) = person(&env, &[(PlanoAuth, "manager")]).await;
    assert_cannot_touch(&env, &x2_manager, &auth_manager).await;
    // Nor does acting in another application help: the check is the person's, everywhere.
    let answer = update_employee(
        &env,
        &x2_manager,
        &auth_manager,
        json!({ "application": "planox2", "first_name": "Mallory" }),
    )
    .await;
    assert_denied(&answer);
}

#[tokio::test]
async fn an_application_token_acts_only_for_its_own_application() {
    let env = TestEnv::new().await;
    let (admin, _) = person(&env, &everywhere("admin")).await;
    // A planoorder server holding every permission there owns no one in planoauth.
    let order_server = env
        .application_token(
            PlanoOrder,
            &[
                "employees.update",
                "photographers.create",
                "sessions.create",
                "clients.register",
                "passwords.reset",
            ],
        )
        .await;
    assert_cannot_touch(&env, &order_server, &admin).await;
    let (auth_manager, _) = person(&env, &[(PlanoAuth, "manager")]).await;
    assert_cannot_touch(&env, &order_server, &auth_manager).await;
    // A planoauth token with employees.update alone is below a planoauth admin...
    let auth_server = env
        .application_token(PlanoAuth, &["employees.update"])
        .await;
    let (auth_admin, _) = person(&env, &[(PlanoAuth, "admin")]).await;
    assert_cannot_touch(&env, &auth_server, &auth_admin).await;
    // ...and level with a planoauth manager, and above staff anywhere.
    for target in [auth_manager, person(&env, &everywhere("staff")).await.0] {
        let answer = update_employee(
            &env,
            &auth_server,
            &target,
            json!({ "first_name": "Grace" }),
        )
        .await;
        assert_status(&answer, "action-successful", 200);
    }
}

#[tokio::test]
async fn an_admin_may_change_anyone_including_another_admin() {
    let env = TestEnv::new().await;
    let (_, admin) = person(&env, &everywhere("admin")).await;
    let (other_admin, _) = person(&env, &everywhere("admin")).await;
    let (manager, _) = person(&env, &[(PlanoAuth, "manager")]).await;
    for target in [&other_admin, &manager] {
        let moved = env.unique_email("moved-by-admin");
        let answer = update_employee(&env, &admin, target, json!({ "email": moved })).await;
        assert_status(&answer, "action-successful", 200);
        assert_eq!(stored(&env, target.id).await.email, moved);
    }
    let answer = update_employee(&env, &admin, &manager, json!({ "active": false })).await;
    assert_status(&answer, "action-successful", 200);
    assert!(!stored(&env, manager.id).await.active);
}

#[tokio::test]
async fn the_four_step_takeover_ends_at_its_first_step() {
    let env = TestEnv::new().await;
    let (admin, _) = person(&env, &everywhere("admin")).await;
    let (_, manager) = person(&env, &[(PlanoAuth, "manager")]).await;
    let mailbox = env.unique_email("manager-reads-this");
    // Step one: the admin's address moved to one the manager reads. Refused.
    let moved = update_employee(&env, &manager, &admin, json!({ "email": mailbox })).await;
    assert_denied(&moved);
    // Step two: a reset for that address, through any application's server, reaches no one.
    let server = env
        .application_token(PlanoOrder, &["passwords.reset"])
        .await;
    let forgot = env
        .call(
            env.route(routes::USERS_PASSWORD_FORGOT),
            &json!({ "token": server, "email": mailbox }),
        )
        .await;
    assert_status(&forgot, "action-successful", 200);
    assert!(env.sent_emails(&mailbox).await.is_empty());
    assert!(env.sent_emails(&admin.email).await.is_empty());
}

#[tokio::test]
async fn a_caller_changes_its_own_record_but_not_its_address_nor_its_active_flag() {
    let env = TestEnv::new().await;
    let (me, session) = person(&env, &[(PlanoAuth, "manager")]).await;
    let renamed = update_employee(&env, &session, &me, json!({ "first_name": "Grace" })).await;
    assert_status(&renamed, "action-successful", 200);
    for change in [
        json!({ "email": env.unique_email("my-new-address") }),
        json!({ "active": false }),
    ] {
        let answer = update_employee(&env, &session, &me, change).await;
        assert_denied(&answer);
        assert!(answer.message().contains("someone else"), "{}", answer.body);
    }
    let after = stored(&env, me.id).await;
    assert_eq!(
        (after.email.as_str(), after.active),
        (me.email.as_str(), true)
    );
    // The address, written in another case, is the same address: no change of it.
    let same = update_employee(
        &env,
        &session,
        &me,
        json!({ "email": me.email.to_uppercase() }),
    )
    .await;
    assert_status(&same, "action-successful", 200);
}

#[tokio::test]
async fn a_promotion_while_the_update_is_decided_refuses_the_update() {
    let env = TestEnv::isolated("acting-on-promotion").await;
    let (staff, _) = person(&env, &[(PlanoAuth, "staff")]).await;
    let (_, manager) = person(&env, &[(PlanoAuth, "manager")]).await;
    // The first request reads the route registry's switches (a BatchGetItem of its own).
    let warm = update_employee(&env, &manager, &staff, json!({ "first_name": "Warm" })).await;
    assert_status(&warm, "action-successful", 200);
    let staff = stored(&env, staff.id).await;
    // The read of the caller's token, the record and the account is held while an
    // operator makes the member of staff an admin.
    let stalls = || async { injected(&env.prefix).await["stalls"].as_u64().unwrap_or(0) };
    let before = stalls().await;
    set_faults(
        &env.prefix,
        json!({ "stall_ms": 1500, "stall_next": { "operation": "BatchGetItem", "count": 1 } }),
    )
    .await;
    let moved = env.unique_email("promoted-moved");
    let update = update_employee(&env, &manager, &staff, json!({ "email": moved }));
    let promote = async {
        for _ in 0..500 {
            if stalls().await > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(stalls().await > before, "the read was never held");
        let line = format!(
            "role grant --user {} --application planoauth --role admin",
            staff.id
        );
        env.admin(&line).await.unwrap();
    };
    let (answer, ()) = tokio::join!(update, promote);
    assert_status(&answer, "record-busy", 409);
    assert_eq!(stored(&env, staff.id).await, staff, "nothing was written");
    // Sent again, the update is checked against the admin the person now is.
    let again = update_employee(&env, &manager, &staff, json!({ "email": moved })).await;
    assert_denied(&again);
}

#[tokio::test]
async fn the_write_holds_only_while_the_person_has_the_roles_it_was_checked_against() {
    let env = TestEnv::new().await;
    let (admin, _) = person(&env, &everywhere("admin")).await;
    let email = Email::parse(&admin.email).unwrap();
    let changes = EmployeeChanges {
        active: Some(false),
        ..EmployeeChanges::default()
    };
    let audit = env.audit(AuditAction::EmployeeUpdated, admin.id);
    // As an authorisation that read the account before it was promoted would have it.
    let as_staff = ActedOn {
        user_id: admin.id,
        roles: BTreeMap::from([(PlanoAuth, "staff".to_owned())]),
        is_caller: false,
    };
    let update = EmployeeUpdate {
        id: admin.id,
        email: &email,
        changes: &changes,
        now: env.now(),
        audit: &audit,
        read: None,
        acted_on: Some(&as_staff),
    };
    let mailer = planoauth::mail::Mailer::new(env.ses.clone(), SENDER, links());
    let refused = write_employee_update(&env.app, &mailer, &update).await;
    assert!(
        matches!(&refused, Err(error) if error.status() == Status::RecordBusy),
        "{refused:?}"
    );
    assert!(stored(&env, admin.id).await.active);
}

fn subjects(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|message| message["subject"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn an_address_change_ends_the_reset_token_and_tells_both_addresses() {
    let env = TestEnv::new().await;
    let (_, admin) = person(&env, &everywhere("admin")).await;
    let (employee, _) = person(&env, &[(PlanoAuth, "staff")]).await;
    let server = env.application_token(PlanoAuth, &["passwords.reset"]).await;
    let forgot = env
        .call(
            env.route(routes::USERS_PASSWORD_FORGOT),
            &json!({ "token": server, "email": employee.email }),
        )
        .await;
    assert_status(&forgot, "action-successful", 200);
    let token_sent_before = env.emailed_reset_token(&employee.email).await;

    let new_address = env.unique_email("new-address");
    let moved = update_employee(&env, &admin, &employee, json!({ "email": new_address })).await;
    assert_status(&moved, "action-successful", 200);
    let moved_back = Employee {
        email: new_address.clone(),
        ..employee.clone()
    };
    let back = update_employee(
        &env,
        &admin,
        &moved_back,
        json!({ "email": employee.email }),
    )
    .await;
    assert_status(&back, "action-successful", 200);

    // The link mailed before the change no longer resets, the address moved back or not.
    let reset = env
        .call_encoded(
            env.route(routes::USERS_PASSWORD_RESET),
            &json!({ "token": server, "reset_token": token_sent_before, "new_password": "onyx-Harbor-17-willow" }),
        )
        .await;
    assert_status(&reset, "invalid-param", 400);
    assert!(reset.message().contains("`reset_token`"));

    // Each change told the address it left and the one it reached, once each, with no
    // secret: the old address got its reset email, then "moved from", then "moved to".
    let to_old = env.sent_emails(&employee.email).await;
    let to_new = env.sent_emails(&new_address).await;
    assert_eq!(
        subjects(&to_old)[1..],
        [
            "Your PlanoAuth sign-in address was changed",
            "This address now signs in to PlanoAuth"
        ]
    );
    assert_eq!(
        subjects(&to_new),
        [
            "This address now signs in to PlanoAuth",
            "Your PlanoAuth sign-in address was changed"
        ]
    );
    for notice in to_old[1..].iter().chain(&to_new) {
        let body = notice.to_string();
        assert_eq!(notice["source"], SENDER);
        assert!(!body.contains("reset_token"), "{body}");
        assert!(!body.contains(&token_sent_before));
        assert!(!body.contains("pa_"), "no token of any kind: {body}");
        assert!(body.contains(&links().sign_in));
    }
}

#[tokio::test]
async fn the_operator_changes_an_admins_address_and_both_addresses_hear_of_it() {
    let env = TestEnv::new().await;
    let (admin, _) = person(&env, &everywhere("admin")).await;
    let new_address = env.unique_email("operator-moved");
    let mailer = planoauth::mail::Mailer::new(env.ses.clone(), SENDER, links());
    let line = format!("employee update --user {} --email {new_address}", admin.id);
    let shown = env.admin_mailing(Some(mailer), &line).await.unwrap();
    assert_eq!(shown["email"], new_address.as_str());
    assert_eq!(stored(&env, admin.id).await.email, new_address);
    assert_eq!(
        subjects(&env.sent_emails(&admin.email).await),
        ["Your PlanoAuth sign-in address was changed"]
    );
    assert_eq!(
        subjects(&env.sent_emails(&new_address).await),
        ["This address now signs in to PlanoAuth"]
    );
    assert_eq!(updates_audited(&env, admin.id).await, 1);
}
