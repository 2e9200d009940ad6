//! The DynamoDB tables, by the names `template.yaml` hands each function in its
//! environment (one variable per table resource: `SessionsTable` → `SESSIONS_TABLE`).

/// The table names a function works with.
#[derive(Debug, Clone)]
pub struct Tables {
    pub sessions: String,
    pub account_sessions: String,
    pub application_tokens: String,
    pub roles: String,
    pub users: String,
    pub emails: String,
    pub employees: String,
    pub reference: String,
    pub counters: String,
    pub notifications: String,
    pub clients: String,
    pub route_registry: String,
    pub idempotency: String,
    pub throttles: String,
    pub password_resets: String,
    pub audit: String,
    pub passkeys: String,
    pub passkey_ceremonies: String,
}

impl Tables {
    /// Every table resource of `template.yaml`, with the field it fills.
    pub const RESOURCES: [&'static str; 18] = [
        "SessionsTable",
        "AccountSessionsTable",
        "ApplicationTokensTable",
        "RolesTable",
        "UsersTable",
        "EmailsTable",
        "EmployeesTable",
        "ReferenceTable",
        "CountersTable",
        "NotificationsTable",
        "ClientsTable",
        "RouteRegistryTable",
        "IdempotencyTable",
        "ThrottlesTable",
        "PasswordResetsTable",
        "AuditTable",
        "PasskeysTable",
        "PasskeyCeremoniesTable",
    ];

    /// Names the tables by a rule, e.g. a prefix and the resource name.
    pub fn named(name: impl FnMut(&str) -> String) -> Tables {
        let [
            sessions,
            account_sessions,
            application_tokens,
            roles,
            users,
            emails,
            employees,
            reference,
            counters,
            notifications,
            clients,
            route_registry,
            idempotency,
            throttles,
            password_resets,
            audit,
            passkeys,
            passkey_ceremonies,
        ] = Tables::RESOURCES.map(name);
        Tables {
            sessions,
            account_sessions,
            application_tokens,
            roles,
            users,
            emails,
            employees,
            reference,
            counters,
            notifications,
            clients,
            route_registry,
            idempotency,
            throttles,
            password_resets,
            audit,
            passkeys,
            passkey_ceremonies,
        }
    }

    /// The names from the environment, or which variables are missing.
    pub fn from_env() -> Result<Tables, String> {
        let mut missing = Vec::new();
        let tables = Tables::named(|resource| {
            let variable = env_variable(resource);
            std::env::var(&variable).unwrap_or_else(|_| {
                missing.push(variable);
                String::new()
            })
        });
        if missing.is_empty() {
            Ok(tables)
        } else {
            Err(format!(
                "missing table names in the environment: {}",
                missing.join(", ")
            ))
        }
    }
}

/// `SessionsTable` → `SESSIONS_TABLE`.
pub fn env_variable(resource: &str) -> String {
    let mut variable = String::new();
    for (index, c) in resource.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            variable.push('_');
        }
        variable.push(c.to_ascii_uppercase());
    }
    variable
}

#[cfg(test)]
mod tests {
    #[test]
    fn env_variable_names() {
        assert_eq!(super::env_variable("SessionsTable"), "SESSIONS_TABLE");
        assert_eq!(
            super::env_variable("ApplicationTokensTable"),
            "APPLICATION_TOKENS_TABLE"
        );
    }
}
