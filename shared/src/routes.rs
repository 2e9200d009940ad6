//! The route registry: every route PlanoAuth serves, declared once. `template.yaml`, the
//! local server and the README are checked against this list by the tests.

use crate::authorise::Permission;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The HTTP path; every route is a POST.
    pub path: &'static str,
    /// The Lambda function (and workspace crate) that serves it.
    pub function: &'static str,
    /// What the caller's role must hold.
    pub permission: Permission,
    /// Whether the body arrives base64-encoded because it carries a password.
    pub sensitive_params: bool,
}

impl Route {
    /// The API Gateway route key, as `template.yaml` writes it.
    pub fn key(&self) -> String {
        format!("POST {}", self.path)
    }
}

pub const EMPLOYEES_UPDATE: Route = Route {
    path: "/api/v1/employees/update",
    function: "employees-update",
    permission: Permission::EmployeesUpdate,
    sensitive_params: false,
};

pub const PHOTOGRAPHERS_CREATE: Route = Route {
    path: "/api/v1/photographers/create",
    function: "photographers-create",
    permission: Permission::PhotographersCreate,
    sensitive_params: true,
};

pub const ALL: &[Route] = &[EMPLOYEES_UPDATE, PHOTOGRAPHERS_CREATE];

pub fn by_path(path: &str) -> Option<&'static Route> {
    ALL.iter().find(|route| route.path == path)
}
