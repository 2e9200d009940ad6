//! Who may do what: the applications, the permissions their roles hold, and the kinds of
//! records that give a user a place in PlanoAuth.

/// One of the applications PlanoAuth serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// What a role may do. Stored in DynamoDB by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    EmployeesUpdate,
    PhotographersCreate,
    /// Signing users in (and opening guest sessions): for the applications' servers.
    SessionsCreate,
    /// Registering clients directly, without a session.
    ClientsRegister,
    /// Sending password reset emails and resetting passwords with their tokens: for the
    /// applications' servers.
    PasswordsReset,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::EmployeesUpdate,
        Permission::PhotographersCreate,
        Permission::SessionsCreate,
        Permission::ClientsRegister,
        Permission::PasswordsReset,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Permission::EmployeesUpdate => "employees.update",
            Permission::PhotographersCreate => "photographers.create",
            Permission::SessionsCreate => "sessions.create",
            Permission::ClientsRegister => "clients.register",
            Permission::PasswordsReset => "passwords.reset",
        }
    }

    pub fn from_name(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The kinds of records that give a user a place in PlanoAuth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    Employee,
    Client,
    Liaison,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Employee, Profile::Client, Profile::Liaison];

    pub const fn name(self) -> &'static str {
        match self {
            Profile::Employee => "employee",
            Profile::Client => "client",
            Profile::Liaison => "liaison",
        }
    }

    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for application in Application::ALL {
            assert_eq!(
                Application::from_slug(application.slug()),
                Some(application)
            );
        }
        for permission in Permission::ALL {
            assert_eq!(Permission::from_name(permission.name()), Some(permission));
        }
        for profile in Profile::ALL {
            assert_eq!(Profile::from_name(profile.name()), Some(profile));
        }
        assert_eq!(Permission::from_name("employees.delete"), None);
    }
}
