//! Who may do what: the applications, the permissions their roles hold, the kinds of
//! records that give a user a place in PlanoAuth, and whom a caller may act on.

use std::collections::BTreeMap;

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

    /// `role` in every application, as a new account of one kind holds it.
    pub fn everywhere(role: &str) -> [(Application, &str); 3] {
        Application::ALL.map(|application| (application, role))
    }

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

/// What someone holds, per application: the permissions of a user's role there, or an
/// application token's own in its application (and nothing elsewhere).
pub type Held = BTreeMap<Application, Vec<Permission>>;

/// Where a caller holding `caller` falls short of the person it would act on, who holds
/// `target`: the first application in which the target holds a permission the caller does
/// not. A caller may change a person only if it holds, in every application where that
/// person holds a role, at least that person's permissions, so that no one gains a
/// privilege by changing (the address or the `active` flag of) someone above them.
pub fn falls_short(caller: &Held, target: &Held) -> Option<(Application, Permission)> {
    target.iter().find_map(|(application, needed)| {
        let held = caller.get(application).map_or(&[][..], Vec::as_slice);
        needed
            .iter()
            .find(|permission| !held.contains(permission))
            .map(|permission| (*application, *permission))
    })
}

/// The person a request acts on, as its authorisation found them: the account's roles as
/// read (the write that acts on them holds only while they are still those), and whether
/// it is the caller's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActedOn {
    pub user_id: i64,
    pub roles: BTreeMap<Application, String>,
    pub is_caller: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use Application::{PlanoAuth, PlanoOrder, PlanoX2};
    use Permission::{EmployeesUpdate, PasswordsReset, SessionsCreate};

    fn held(entries: &[(Application, &[Permission])]) -> Held {
        entries
            .iter()
            .map(|(app, permissions)| (*app, permissions.to_vec()))
            .collect()
    }

    #[test]
    fn a_caller_acts_only_on_people_it_holds_every_permission_of_in_every_application() {
        let admin = held(&[
            (PlanoAuth, &Permission::ALL),
            (PlanoOrder, &Permission::ALL),
            (PlanoX2, &Permission::ALL),
        ]);
        let manager = held(&[(PlanoAuth, &[EmployeesUpdate])]);
        let staff = held(&[(PlanoAuth, &[]), (PlanoOrder, &[])]);
        assert_eq!(falls_short(&manager, &staff), None);
        assert_eq!(falls_short(&admin, &admin), None);
        assert_eq!(falls_short(&admin, &manager), None);
        assert_eq!(
            falls_short(&manager, &admin),
            Some((PlanoAuth, Permission::PhotographersCreate))
        );
        assert_eq!(
            falls_short(&manager, &manager),
            None,
            "a peer holds no more than the caller"
        );
    }

    #[test]
    fn permissions_count_only_in_their_own_application() {
        let x2_manager = held(&[(PlanoX2, &[EmployeesUpdate])]);
        let auth_manager = held(&[(PlanoAuth, &[EmployeesUpdate])]);
        assert_eq!(
            falls_short(&x2_manager, &auth_manager),
            Some((PlanoAuth, EmployeesUpdate)),
            "a manager of planox2 is nobody in planoauth"
        );
        // An application token holds its permissions in its own application only.
        let order_server = held(&[(
            PlanoOrder,
            &[EmployeesUpdate, SessionsCreate, PasswordsReset],
        )]);
        let reset_clerk = held(&[(PlanoAuth, &[PasswordsReset])]);
        assert_eq!(
            falls_short(&order_server, &reset_clerk),
            Some((PlanoAuth, PasswordsReset))
        );
        assert_eq!(falls_short(&order_server, &held(&[(PlanoAuth, &[])])), None);
    }

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
