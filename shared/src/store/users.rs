//! Users: the account behind a person's records. It holds the user's role in each
//! application, the kinds of records they have and their password hash; the email
//! address lives in the records and in the `Emails` table, which keeps it unique.

use super::{
    Expression, Item, ItemKey, Reader, StoreError, every_page, number, profiles, profiles_value,
    put_new_step, send_through_conflicts, string, update_if,
};
use crate::domain::{Account, ActedOn, Application, NewUser, Profile};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};

pub(super) mod attr {
    pub const ID: &str = "id";
    pub const CREATED_AT: &str = "created_at";
    pub const ROLES: &str = "roles";
    pub const PROFILES: &str = "profiles";
    pub const PASSWORD_HASH: &str = "password_hash";
    /// How many passkeys the account has: the limit and the last-way-in rule are
    /// conditions on it, in the transaction that adds or removes one.
    pub const PASSKEYS: &str = "passkeys";
    pub const PASSKEY_HANDLE: &str = "passkey_handle";
    /// Where releases before the account sessions table listed the account's sessions
    /// (the hashes of their tokens); `planoauth-admin migrate session-listings` moves them
    /// to that table.
    pub const SESSIONS: &str = "sessions";
    /// Present (true) only while the password someone else set awaits its replacement.
    pub const PASSWORD_CHANGE_REQUIRED: &str = "password_change_required";
    /// The hash of the newest password reset token: an older one no longer resets.
    pub const RESET_TOKEN_HASH: &str = "reset_token_hash";
}

/// What entitles a request to set an account's password.
#[derive(Debug, Clone, Copy)]
pub enum PasswordProof<'a> {
    /// The caller proved they know the password the account had: this hash.
    Current(&'a str),
    /// The caller holds the account's newest reset token: the hash of it.
    ResetToken(&'a str),
}

fn account_from(item: &Item) -> Result<Account, StoreError> {
    let read = Reader(item);
    let roles = read
        .map(attr::ROLES)
        .map(|roles| {
            roles
                .iter()
                .filter_map(|(slug, role)| {
                    Some((Application::from_slug(slug)?, role.as_s().ok()?.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Account {
        id: read.num(attr::ID)?,
        password_hash: read.opt_str(attr::PASSWORD_HASH).map(str::to_owned),
        roles,
        profiles: profiles(&read, attr::PROFILES),
        password_change_required: read.bool(attr::PASSWORD_CHANGE_REQUIRED),
        passkeys: read.opt_num(attr::PASSKEYS)?.unwrap_or(0),
        passkey_handle: read.opt_str(attr::PASSKEY_HANDLE).map(str::to_owned),
        totp: super::second_factors::totp_of(&read)?,
    })
}

pub struct Users<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Users<'_> {
    fn table(&self) -> &str {
        self.table
    }

    fn key(user_id: i64) -> (&'static str, AttributeValue) {
        (attr::ID, number(user_id))
    }

    /// The write that creates a user, for a transaction that also creates their record.
    pub fn put(&self, user: &NewUser<'_>, now: i64) -> Result<TransactWriteItem, StoreError> {
        let roles = user
            .roles
            .iter()
            .map(|(app, role)| (app.slug().to_owned(), string(*role)))
            .collect();
        let mut item = Item::from([
            (attr::ID.into(), number(user.id)),
            (attr::CREATED_AT.into(), number(now)),
            (attr::ROLES.into(), AttributeValue::M(roles)),
        ]);
        if let Some(profiles) = profiles_value(user.profiles) {
            item.insert(attr::PROFILES.into(), profiles);
        }
        if let Some(hash) = user.password_hash {
            item.insert(attr::PASSWORD_HASH.into(), string(hash));
        }
        if user.password_change_required {
            item.insert(
                attr::PASSWORD_CHANGE_REQUIRED.into(),
                AttributeValue::Bool(true),
            );
        }
        put_new_step(self.table(), item, attr::ID)
    }

    /// Where an account is, for a caller that reads it along with other items.
    pub fn key_of(&self, user_id: i64) -> ItemKey {
        ItemKey {
            table: self.table().to_owned(),
            key: Item::from([Users::key(user_id)].map(|(name, value)| (name.to_owned(), value))),
        }
    }

    /// The account in an item read elsewhere.
    pub fn account_from_read(item: &Item) -> Result<Account, StoreError> {
        account_from(item)
    }

    /// The transaction step on the account a change acts on: with `acted_on`, it holds only
    /// while the account still has the roles its authorisation found (no one promoted it
    /// meanwhile); with `end_recovery`, it ends the account's outstanding password reset
    /// token, as an address change must (a link mailed to the old address no longer
    /// resets). `None` when there is neither to do.
    pub fn acted_on(
        &self,
        user_id: i64,
        acted_on: Option<&ActedOn>,
        end_recovery: bool,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let mut e = Expression::default();
        if let Some(acted_on) = acted_on {
            let roles = e.name(attr::ROLES);
            for application in Application::ALL {
                let entry = e.name(application.slug());
                let condition = match acted_on.roles.get(&application) {
                    Some(role) => format!("{roles}.{entry} = {}", e.value(string(role))),
                    None => format!("attribute_not_exists({roles}.{entry})"),
                };
                e.condition(condition);
            }
        }
        let key = Users::key(user_id);
        if end_recovery {
            let id = e.name(attr::ID);
            e.condition(format!("attribute_exists({id})"))
                .remove(attr::RESET_TOKEN_HASH);
            return e.update_step(self.table(), key).map(Some);
        }
        match acted_on {
            Some(_) => e.check_step(self.table(), key).map(Some),
            None => Ok(None),
        }
    }

    /// The account with this id, read consistently.
    pub async fn account(&self, user_id: i64) -> Result<Option<Account>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .key(attr::ID, number(user_id))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(account_from).transpose()
    }

    /// The transaction step that gives a user `role` in `application`, on condition that
    /// the role it replaces is still `old` (none: `None`), so that the audit record's old
    /// value is the one replaced.
    pub fn grant_step(
        &self,
        user_id: i64,
        application: Application,
        role: &str,
        old: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.set_entry(attr::ROLES, application.slug(), string(role));
        let (roles, entry) = (e.name(attr::ROLES), e.name(application.slug()));
        e.condition(format!("attribute_exists({roles})"));
        let unchanged = match old {
            Some(old) => format!("{roles}.{entry} = {}", e.value(string(old))),
            None => format!("attribute_not_exists({roles}.{entry})"),
        };
        e.condition(unchanged);
        e.update_step(self.table(), Users::key(user_id))
    }

    /// The transaction step that checks, for a new session, that the account exists and,
    /// with `password_hash`, that its password is that one. It writes nothing: the
    /// session's listing is an item of its own.
    pub fn must_exist(
        &self,
        user_id: i64,
        password_hash: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        let id = e.name(attr::ID);
        e.condition(format!("attribute_exists({id})"));
        if let Some(password_hash) = password_hash {
            let (name, value) = (e.name(attr::PASSWORD_HASH), e.value(string(password_hash)));
            e.condition(format!("{name} = {value}"));
        }
        e.check_step(self.table(), Users::key(user_id))
    }

    /// The sessions an earlier release listed in the account's item, read consistently.
    pub async fn legacy_session_hashes(&self, user_id: i64) -> Result<Vec<String>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .key(attr::ID, number(user_id))
            .projection_expression("#sessions")
            .expression_attribute_names("#sessions", attr::SESSIONS)
            .consistent_read(true)
            .send()
            .await?;
        Ok(output
            .item()
            .map(|item| Reader(item).strings(attr::SESSIONS))
            .unwrap_or_default())
    }

    /// The transaction step that sets a new password on an account, on condition that the
    /// proof still holds (its password, or its newest reset token, unchanged): it clears
    /// a required change and any reset token.
    pub fn set_password(
        &self,
        user_id: i64,
        proof: PasswordProof<'_>,
        new_hash: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.set(attr::PASSWORD_HASH, string(new_hash))
            .remove(attr::PASSWORD_CHANGE_REQUIRED)
            .remove(attr::RESET_TOKEN_HASH);
        let (attribute, expected) = match proof {
            PasswordProof::Current(hash) => (attr::PASSWORD_HASH, hash),
            PasswordProof::ResetToken(hash) => (attr::RESET_TOKEN_HASH, hash),
        };
        let (name, value) = (e.name(attribute), e.value(string(expected)));
        e.condition(format!("{name} = {value}"));
        e.update_step(self.table(), Users::key(user_id))
    }

    /// The account's passkey user handle, given `new` now if it has none, in one write a
    /// racing start cannot make two of. `None`: there is no such account.
    pub async fn passkey_handle(
        &self,
        user_id: i64,
        new: &str,
    ) -> Result<Option<String>, StoreError> {
        let result = send_through_conflicts("giving an account its passkey handle", || {
            self.client
                .update_item()
                .table_name(self.table())
                .key(attr::ID, number(user_id))
                .update_expression("SET #handle = if_not_exists(#handle, :new)")
                .condition_expression("attribute_exists(#id)")
                .expression_attribute_names("#handle", attr::PASSKEY_HANDLE)
                .expression_attribute_names("#id", attr::ID)
                .expression_attribute_values(":new", string(new))
                .return_values(ReturnValue::UpdatedNew)
                .send()
        })
        .await?;
        match result {
            Ok(output) => {
                let attributes = output.attributes.unwrap_or_default();
                Ok(Some(
                    Reader(&attributes).str(attr::PASSKEY_HANDLE)?.to_owned(),
                ))
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The transaction step that counts one more passkey, made for `handle`: on condition
    /// that the account has fewer than `max` and still that handle.
    pub fn add_passkey_step(
        &self,
        user_id: i64,
        handle: &str,
        max: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.add(attr::PASSKEYS, number(1));
        let (count, limit) = (e.name(attr::PASSKEYS), e.value(number(max)));
        let (held, expected) = (e.name(attr::PASSKEY_HANDLE), e.value(string(handle)));
        e.condition(format!(
            "(attribute_not_exists({count}) OR {count} < {limit}) AND {held} = {expected}"
        ));
        e.update_step(self.table(), Users::key(user_id))
    }

    /// The transaction step that counts one passkey fewer: on condition that it is not
    /// the account's last way to sign in (another passkey, or a password) and, with
    /// `keep_second_factor`, not its last second factor (another passkey, or TOTP).
    pub fn remove_passkey_step(
        &self,
        user_id: i64,
        keep_second_factor: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.add(attr::PASSKEYS, number(-1));
        let (count, password) = (e.name(attr::PASSKEYS), e.name(attr::PASSWORD_HASH));
        let one = e.value(number(1));
        e.condition(format!(
            "{count} > {one} OR ({count} = {one} AND attribute_exists({password}))"
        ));
        if keep_second_factor {
            let totp = e.name(super::second_factors::TOTP_SECRET);
            e.condition(format!("{count} > {one} OR attribute_exists({totp})"));
        }
        e.update_step(self.table(), Users::key(user_id))
    }

    /// The transaction step that makes `token_hash` the account's newest reset token (the
    /// one that resets), on condition that the account exists.
    pub fn hold_reset_token(
        &self,
        user_id: i64,
        token_hash: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expression::default();
        e.set(attr::RESET_TOKEN_HASH, string(token_hash));
        let id = e.name(attr::ID);
        e.condition(format!("attribute_exists({id})"));
        e.update_step(self.table(), Users::key(user_id))
    }

    /// The accounts whose item still lists sessions as an earlier release did. This reads
    /// the whole table: for the operator's one-off move, never a request path.
    pub async fn with_legacy_sessions(&self) -> Result<Vec<i64>, StoreError> {
        let (client, table) = (self.client, self.table);
        let items = every_page(|start| async move {
            let page = client
                .scan()
                .table_name(table)
                .filter_expression("attribute_exists(#sessions)")
                .expression_attribute_names("#sessions", attr::SESSIONS)
                .projection_expression(attr::ID)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
        })
        .await?;
        items
            .iter()
            .map(|item| Reader(item).num(attr::ID))
            .collect()
    }

    /// Takes sessions off the account item's list of an earlier release.
    pub async fn forget_legacy_sessions(
        &self,
        user_id: i64,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        if hashes.is_empty() {
            return Ok(());
        }
        let mut e = Expression::default();
        e.delete(attr::SESSIONS, AttributeValue::Ss(hashes.to_vec()));
        let id = e.name(attr::ID);
        e.condition(format!("attribute_exists({id})"));
        update_if(self.client, self.table(), Users::key(user_id), &e).await?;
        Ok(())
    }

    /// The users who hold `role` in `application`. This reads the whole table, so it is
    /// for the operator tool only, never a request path.
    pub async fn holders_of(
        &self,
        application: Application,
        role: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let (client, table) = (self.client, self.table());
        let items = every_page(|start| async move {
            let page = client
                .scan()
                .table_name(table)
                .filter_expression("#roles.#app = :role")
                .expression_attribute_names("#roles", attr::ROLES)
                .expression_attribute_names("#app", application.slug())
                .expression_attribute_values(":role", string(role))
                .projection_expression(attr::ID)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
        })
        .await?;
        items
            .iter()
            .map(|item| Reader(item).num(attr::ID))
            .collect()
    }

    /// The write that adds a record's profile, its roles and a new password hash to an
    /// existing account, for the transaction that creates the record. `passwords` is the
    /// hash the account had when the caller proved they know it (`None` if it had none),
    /// which it must still have, and the new one.
    pub fn add_profile(
        &self,
        user_id: i64,
        profile: Profile,
        roles: &[(Application, &str)],
        passwords: (Option<&str>, &str),
    ) -> Result<TransactWriteItem, StoreError> {
        let (proven, password_hash) = passwords;
        let mut e = Expression::default();
        e.add(
            attr::PROFILES,
            AttributeValue::Ss(vec![profile.name().to_owned()]),
        );
        e.set(attr::PASSWORD_HASH, string(password_hash));
        for (application, role) in roles {
            e.set_entry(attr::ROLES, application.slug(), string(*role));
        }
        let roles = e.name(attr::ROLES);
        e.condition(format!("attribute_exists({roles})"));
        let name = e.name(attr::PASSWORD_HASH);
        let password_unchanged = match proven {
            Some(proven) => format!("{name} = {}", e.value(string(proven))),
            None => format!("attribute_not_exists({name})"),
        };
        e.condition(password_unchanged);
        e.update_step(self.table(), Users::key(user_id))
    }
}
