//! The data a fresh PlanoAuth needs: the roles of each application, reference data, an
//! application token per application and a first admin employee.

use crate::operator::operator_audit;
use planoauth::App;
use planoauth::domain::Email;
use planoauth::domain::ReferenceKind as Kind;
use planoauth::domain::{Application, AuditAction, Permission};
use planoauth::domain::{Employee, NewEmployee};
use planoauth::error::BoxError;
use planoauth::passwords;
use planoauth::use_cases;
use rand::Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// The roles every application starts with, and what each may do.
pub fn default_roles() -> Vec<(&'static str, Vec<Permission>)> {
    vec![
        ("admin", Permission::ALL.to_vec()),
        ("manager", vec![Permission::EmployeesUpdate]),
        ("staff", vec![]),
        ("client", vec![]),
    ]
}

const SERVICE_AREAS: [(i64, &str); 3] = [(1, "Dallas-Fort Worth"), (2, "Houston"), (3, "Austin")];
const DEPARTMENTS: [(&str, &str); 3] = [
    ("photography", "Photography"),
    ("editing", "Editing"),
    ("operations", "Operations"),
];
const DESIGNATIONS: [(i64, &str); 3] = [
    (1, "Photographer"),
    (2, "Senior Photographer"),
    (3, "Editor"),
];

#[derive(Debug, Serialize)]
pub struct Admin {
    pub id: i64,
    pub email: String,
    pub password: String,
}

/// An employee made to try the API on: a photographer holding `staff` in every
/// application, without a password (no one signs in as them), whom an application's
/// token may update.
#[derive(Debug, Serialize)]
pub struct Sample {
    pub id: i64,
    pub email: String,
}

/// What a client needs to start calling the API; written to `.local/bootstrap.json`.
#[derive(Debug, Serialize)]
pub struct Bootstrap {
    pub api_url: String,
    pub applications: BTreeMap<String, String>,
    pub admin: Admin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_photographer: Option<Sample>,
}

/// A new install: the roles and reference data, a token per application holding every
/// permission, the first admin and, with `sample_email`, a photographer to try the API on.
pub async fn bootstrap(
    app: &App,
    api_url: &str,
    admin_email: &str,
    sample_email: Option<&str>,
) -> Result<Bootstrap, BoxError> {
    let now = app.clock.now();
    let roles = default_roles();
    for application in Application::ALL {
        for (role, permissions) in &roles {
            app.db
                .roles()
                .put(application, role, permissions, false)
                .await?;
        }
    }
    seed_reference_data(app).await?;

    let mut applications = BTreeMap::new();
    for application in Application::ALL {
        let (token, _) = app
            .db
            .application_tokens()
            .issue(application, "bootstrap", &Permission::ALL, now)
            .await?;
        applications.insert(application.slug().to_owned(), token);
    }

    let admin = create_admin(app, admin_email).await?;
    let sample_photographer = match sample_email {
        Some(email) => Some(create_sample_photographer(app, email).await?),
        None => None,
    };
    Ok(Bootstrap {
        api_url: api_url.to_owned(),
        applications,
        admin,
        sample_photographer,
    })
}

/// An employee who holds the admin role in every application, with a generated password
/// (returned once, stored only as its argon2id hash).
pub async fn create_admin(app: &App, email: &str) -> Result<Admin, BoxError> {
    let email = Email::parse(email).map_err(|invalid| format!("admin email {invalid}"))?;
    // Held to the policy every password set is, the breached list included (which a
    // random 20 characters from 57 are all but certain to pass at the first try).
    let breached = passwords::breached::loaded()?;
    let password = loop {
        let candidate = random_password();
        if passwords::check_policy(&candidate, email.as_str(), breached).is_ok() {
            break candidate;
        }
    };
    let password_hash = passwords::hash(&password)?;
    let admin_roles = Application::everywhere("admin");
    let new = NewEmployee {
        email: &email,
        first_name: Some("PlanoAuth"),
        last_name: Some("Admin"),
        phone: None,
        service_area_id: None,
        extension: None,
        department: Some("operations"),
        designation_id: None,
        language: Some("en"),
        photographer: false,
        roles: &admin_roles,
        password_hash: Some(&password_hash),
        // Generated here and shown to the operator: the admin chooses their own at once.
        password_change_required: true,
    };
    let id = create_employee(app, &new).await?;
    Ok(Admin {
        id,
        email: email.as_str().to_owned(),
        password,
    })
}

/// The sample photographer of a local install (see [`Sample`]).
pub async fn create_sample_photographer(app: &App, email: &str) -> Result<Sample, BoxError> {
    let email = Email::parse(email).map_err(|invalid| format!("sample email {invalid}"))?;
    let staff = Application::everywhere(use_cases::PHOTOGRAPHER_ROLE);
    let new = NewEmployee {
        email: &email,
        first_name: Some("Sample"),
        last_name: Some("Photographer"),
        phone: None,
        service_area_id: Some(1),
        extension: None,
        department: Some("photography"),
        designation_id: Some(1),
        language: Some("en"),
        photographer: true,
        roles: &staff,
        password_hash: None,
        password_change_required: false,
    };
    let id = create_employee(app, &new).await?;
    Ok(Sample {
        id,
        email: email.as_str().to_owned(),
    })
}

async fn create_employee(app: &App, new: &NewEmployee<'_>) -> Result<i64, BoxError> {
    let id = app.db.counters().next("users").await?;
    let now = app.clock.now();
    let audit = operator_audit(now, AuditAction::EmployeeCreated, id);
    let employee = Employee::new(id, new, now);
    use_cases::create_employee(app, &employee, new, None, &audit)
        .await
        .map_err(|error| {
            format!(
                "creating employee {}: {}",
                new.email.as_str(),
                error.message()
            )
        })?;
    Ok(id)
}

pub async fn seed_reference_data(app: &App) -> Result<(), BoxError> {
    let reference = app.db.reference();
    for (id, name) in SERVICE_AREAS {
        reference
            .put(Kind::ServiceArea, &id.to_string(), name)
            .await?;
    }
    for (slug, name) in DEPARTMENTS {
        reference.put(Kind::Department, slug, name).await?;
    }
    for (id, name) in DESIGNATIONS {
        reference
            .put(Kind::Designation, &id.to_string(), name)
            .await?;
    }
    Ok(())
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect()
}
