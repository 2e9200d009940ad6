//! How a record is shown to a caller: `view` for the record a route returns,
//! `session_view` for the session object. Presentation is this layer's business; the
//! records themselves (in [`crate::domain`]) know nothing of it.

use crate::clock::rfc3339;
use crate::domain::{Client, Employee, Passkey, Session};
use crate::params::{Invalid, Param};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// What any client may see.
    #[default]
    Default,
    /// Adds the fields only PlanoAuth's own applications need.
    InternalApps,
}

impl Param for View {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        match String::from_value(value)?.as_str() {
            "default" => Ok(View::Default),
            "internalapps_view" => Ok(View::InternalApps),
            _ => Err(Invalid::new("must be default or internalapps_view")),
        }
    }
}

/// A record as a caller sees it. Nothing secret (a password's hash, a token's) is ever
/// part of any view.
pub trait Show {
    fn show(&self, view: View) -> Value;
}

impl Show for Employee {
    fn show(&self, view: View) -> Value {
        let mut shown = json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "active": self.active,
            "photographer": self.photographer,
            "skills": self.skills,
        });
        if view == View::InternalApps {
            extend(
                &mut shown,
                json!({
                    "legal_name": self.legal_name,
                    "service_area_id": self.service_area_id,
                    "address": self.address,
                    "date_hired": self.date_hired,
                    "date_off_boarded": self.date_off_boarded,
                    "extension": self.extension,
                    "department": self.department,
                    "designation_id": self.designation_id,
                    "language": self.language,
                    "created_at": rfc3339(self.created_at),
                    "updated_at": rfc3339(self.updated_at),
                }),
            );
        }
        shown
    }
}

impl Show for Client {
    fn show(&self, view: View) -> Value {
        let mut shown = json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "company": self.company,
            "language": self.language,
        });
        if view == View::InternalApps {
            extend(
                &mut shown,
                json!({
                    "created_at": rfc3339(self.created_at),
                    "updated_at": rfc3339(self.updated_at),
                }),
            );
        }
        shown
    }
}

impl Show for Session {
    fn show(&self, view: View) -> Value {
        let mut shown = json!({
            "id": self.id,
            "user_id": self.user_id,
            "application": self.application.slug(),
            "remember_me": self.remember_me,
            "expires_at": self.expires_at().map(rfc3339),
            "password_change_required": self.password_change_required,
            "second_factor_enrolment_required": self.second_factor_enrolment_required,
            "factors": self.factors(),
        });
        if view == View::InternalApps {
            let permissions: Map<String, Value> = self
                .permissions
                .iter()
                .map(|(application, held)| {
                    let names: Vec<&str> = held.iter().map(|p| p.name()).collect();
                    (application.slug().to_owned(), json!(names))
                })
                .collect();
            let profiles: Vec<&str> = self.profiles.iter().map(|p| p.name()).collect();
            extend(
                &mut shown,
                json!({
                    "created_at": rfc3339(self.created_at),
                    "last_used_at": rfc3339(self.last_used_at),
                    "proved_by": self.proof.map(|proof| proof.method.slug()),
                    "proved_at": self.proof.map(|proof| rfc3339(proof.at)),
                    "profiles": profiles,
                    "permissions": permissions,
                }),
            );
        }
        shown
    }
}

/// A passkey as its owner sees it: never its key.
impl Show for Passkey {
    fn show(&self, _view: View) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "created_at": rfc3339(self.created_at),
            "last_used_at": self.last_used_at.map(rfc3339),
            "backed_up": self.backed_up,
        })
    }
}

fn extend(shown: &mut Value, more: Value) {
    if let (Some(shown), Value::Object(more)) = (shown.as_object_mut(), more) {
        shown.extend(more);
    }
}
