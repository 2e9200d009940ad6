//! Authorisation: which application the caller acts in, and whether its role there holds
//! the route's permission.

use crate::authenticate::Caller;
use crate::error::ApiError;
use crate::params::{Invalid, Param};
use crate::status::Status;
use serde_json::Value;

/// One of the applications PlanoAuth serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Application {
    PlanoAuth,
    PlanoOrder,
    PlanoX2,
}

impl Application {
    pub const ALL: [Application; 3] = [
        Application::PlanoAuth,
        Application::PlanoOrder,
        Application::PlanoX2,
    ];

    pub const fn slug(self) -> &'static str {
        match self {
            Application::PlanoAuth => "planoauth",
            Application::PlanoOrder => "planoorder",
            Application::PlanoX2 => "planox2",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Application> {
        Application::ALL.into_iter().find(|app| app.slug() == slug)
    }
}

impl Param for Application {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        let slug = String::from_value(value)?;
        Application::from_slug(&slug)
            .ok_or_else(|| Invalid::new("must be one of planoauth, planoorder, planox2"))
    }
}

/// What a role may do. Stored in DynamoDB by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    EmployeesUpdate,
    PhotographersCreate,
}

impl Permission {
    pub const ALL: [Permission; 2] = [Permission::EmployeesUpdate, Permission::PhotographersCreate];

    pub const fn name(self) -> &'static str {
        match self {
            Permission::EmployeesUpdate => "employees.update",
            Permission::PhotographersCreate => "photographers.create",
        }
    }
}

/// Decides the application the caller acts in and checks that its role there holds
/// `needed`. A session user with no client, employee or liaison record holds no role at
/// all: that is `client-required`, so that the client can send them to register.
pub fn authorise(
    caller: &Caller,
    requested: Option<Application>,
    needed: Permission,
) -> Result<Application, ApiError> {
    match caller {
        Caller::Application(token) => {
            if requested.is_some_and(|app| app != token.application) {
                return Err(ApiError::reject_because(
                    Status::PermissionDenied,
                    format!(
                        "This application token acts for {} only.",
                        token.application.slug()
                    ),
                ));
            }
            if !token.permissions.iter().any(|p| p == needed.name()) {
                return Err(denied(needed, token.application));
            }
            Ok(token.application)
        }
        Caller::Session(session) => {
            if session.user_id.is_none() || session.profiles.is_empty() {
                return Err(ApiError::reject(Status::ClientRequired));
            }
            let acting = requested.unwrap_or(session.application);
            if !session.allows(acting, needed) {
                return Err(denied(needed, acting));
            }
            Ok(acting)
        }
    }
}

fn denied(needed: Permission, application: Application) -> ApiError {
    ApiError::reject_because(
        Status::PermissionDenied,
        format!(
            "The role in {} does not hold the permission {}.",
            application.slug(),
            needed.name()
        ),
    )
}
