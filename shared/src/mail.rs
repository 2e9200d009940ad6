//! Email through Amazon SES (the old system used Mandrill). The onboarding message greets
//! the new employee by name and tells them where to sign in; it never holds a password.
//! The password reset message holds the link with a reset token. A security notice tells
//! an account's owner of a change to how the account signs in, with no secret and no
//! link that acts without signing in.

use crate::aws::SdkConfig;
use crate::clock::rfc3339;
use crate::domain::SecurityNotice;
use crate::error::BoxError;
use aws_sdk_ses::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use std::sync::OnceLock;

/// Who sends PlanoAuth's email, and where its links point.
#[derive(Clone)]
pub struct Mailer {
    ses: Ses,
    /// A verified SES identity, e.g. `PlanoAuth <no-reply@planoauth.example>`.
    sender: String,
    links: Links,
}

/// The pages of the applications that PlanoAuth's email links to.
#[derive(Debug, Clone)]
pub struct Links {
    pub sign_in: String,
    /// Where a user chooses a new password; the email adds `?reset_token=...`.
    pub password_reset: String,
}

/// What a new employee's welcome says.
pub struct Onboarding<'a> {
    pub to: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

/// The SES client, or what builds it on the first email: most requests of the functions
/// that send email send none, and an SDK client is a large share of a cold start (it
/// reads its endpoint rules as it is built).
#[derive(Clone)]
enum Ses {
    Ready(aws_sdk_ses::Client),
    OnFirstEmail(Box<SdkConfig>, OnceLock<aws_sdk_ses::Client>),
}

impl Ses {
    fn client(&self) -> &aws_sdk_ses::Client {
        match self {
            Ses::Ready(client) => client,
            Ses::OnFirstEmail(config, client) => {
                client.get_or_init(|| aws_sdk_ses::Client::new(config))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("SES refused the email: {0}")]
pub struct MailError(String);

impl Mailer {
    pub fn new(client: aws_sdk_ses::Client, sender: impl Into<String>, links: Links) -> Self {
        Mailer {
            ses: Ses::Ready(client),
            sender: sender.into(),
            links,
        }
    }

    /// The production wiring: `ONBOARDING_SENDER`, `SIGN_IN_URL` and `PASSWORD_RESET_URL`
    /// from the environment (template parameters in `template.yaml`).
    /// The SES client is built on the first email.
    pub fn from_env(config: &SdkConfig) -> Result<Mailer, BoxError> {
        let variable = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(Mailer {
            ses: Ses::OnFirstEmail(Box::new(config.clone()), OnceLock::new()),
            sender: variable("ONBOARDING_SENDER")?,
            links: Links {
                sign_in: variable("SIGN_IN_URL")?,
                password_reset: variable("PASSWORD_RESET_URL")?,
            },
        })
    }

    pub fn sender(&self) -> &str {
        &self.sender
    }

    pub async fn send_onboarding(&self, onboarding: &Onboarding<'_>) -> Result<(), MailError> {
        let message = onboarding_message(onboarding, &self.links.sign_in);
        self.send(onboarding.to, message).await
    }

    /// The email that lets the owner of `to` choose a new password: a link to the
    /// application's reset page with `reset_token`, which works for `minutes`.
    pub async fn send_password_reset(
        &self,
        to: &str,
        reset_token: &str,
        minutes: i64,
    ) -> Result<(), MailError> {
        let link = reset_link(&self.links.password_reset, reset_token);
        self.send(to, password_reset_message(&link, minutes)).await
    }

    /// The security notice `notice` to `to`, of a change made at `at` (Unix seconds).
    pub async fn send_security_notice(
        &self,
        to: &str,
        notice: SecurityNotice,
        at: i64,
    ) -> Result<(), MailError> {
        let message = security_notice_message(notice, &rfc3339(at), &self.links.sign_in);
        self.send(to, message).await
    }

    async fn send(
        &self,
        to: &str,
        (subject, text, html): (String, String, String),
    ) -> Result<(), MailError> {
        let content = |data: String| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| MailError(e.to_string()))
        };
        let message = Message::builder()
            .subject(content(subject)?)
            .body(
                Body::builder()
                    .text(content(text)?)
                    .html(content(html)?)
                    .build(),
            )
            .build();
        self.ses
            .client()
            .send_email()
            .source(&self.sender)
            .destination(Destination::builder().to_addresses(to).build())
            .message(message)
            .send()
            .await
            .map_err(|error| MailError(describe(error)))?;
        Ok(())
    }
}

/// Subject, plain text and HTML of the welcome email.
fn onboarding_message(onboarding: &Onboarding<'_>, sign_in_url: &str) -> (String, String, String) {
    let name = format!("{} {}", onboarding.first_name, onboarding.last_name);
    let subject = format!("Welcome to PlanoAuth, {}", onboarding.first_name);
    let text = format!(
        "Hello {name},\n\n\
         Your PlanoAuth account is ready. Sign in at {sign_in_url} with your email address \
         ({email}) and the initial password you were given. Before anything else, you will be \
         asked to replace it with a password of your own.\n\n\
         If you were not expecting this email, please let us know by replying to it.\n",
        email = onboarding.to,
    );
    let html = format!(
        "<!DOCTYPE html><html><body>\
         <p>Hello {name},</p>\
         <p>Your PlanoAuth account is ready. <a href=\"{url}\">Sign in</a> with your email address \
         (<strong>{email}</strong>) and the initial password you were given. Before anything else, \
         you will be asked to replace it with a password of your own.</p>\
         <p>If you were not expecting this email, please let us know by replying to it.</p>\
         </body></html>",
        name = escape(&name),
        url = escape(sign_in_url),
        email = escape(onboarding.to),
    );
    (subject, text, html)
}

/// What went wrong, for the log and the team's notification: SES's error code and
/// message when SES answered, else the whole chain of causes (a timeout, a refused
/// connection). Never the raw response.
fn describe<E, R>(error: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("unknown error"),
            service.message().unwrap_or("no message")
        ),
        None => DisplayErrorContext(error).to_string(),
    }
}

/// The reset page's address with the token added to its query.
fn reset_link(page: &str, reset_token: &str) -> String {
    let separator = if page.contains('?') { '&' } else { '?' };
    format!("{page}{separator}reset_token={reset_token}")
}

/// Subject, plain text and HTML of the password reset email. It names no account
/// detail: whoever receives it owns the address.
fn password_reset_message(link: &str, minutes: i64) -> (String, String, String) {
    let subject = "Choose a new PlanoAuth password".to_owned();
    let text = format!(
        "Hello,\n\n\
         Someone asked to reset the password of the PlanoAuth account of this address. To \
         choose a new password, open this link within {minutes} minutes:\n\n{link}\n\n\
         The link works once. If you did not ask for it, ignore this email: your password \
         stays as it is.\n"
    );
    let html = format!(
        "<!DOCTYPE html><html><body>\
         <p>Hello,</p>\
         <p>Someone asked to reset the password of the PlanoAuth account of this address. \
         <a href=\"{url}\">Choose a new password</a> within {minutes} minutes.</p>\
         <p>The link works once. If you did not ask for it, ignore this email: your password \
         stays as it is.</p>\
         </body></html>",
        url = escape(link),
    );
    (subject, text, html)
}

/// Subject, plain text and HTML of a security notice: what changed and when, and what to
/// do if it was not the owner. Its one link is the sign-in page.
fn security_notice_message(
    notice: SecurityNotice,
    when: &str,
    sign_in_url: &str,
) -> (String, String, String) {
    let (subject, what, if_not_you) = match notice {
        SecurityNotice::PasswordChanged => (
            "Your PlanoAuth password was changed",
            format!(
                "The password of the PlanoAuth account of this address was changed at {when}, \
                 and the account's other sessions were signed out."
            ),
            "someone else knows your password. Ask for a password reset email from the sign-in \
             page, choose a new password, and tell your administrator.",
        ),
        SecurityNotice::PasswordReset => (
            "Your PlanoAuth password was reset",
            format!(
                "The password of the PlanoAuth account of this address was reset at {when}, with \
                 a link emailed to this address, and every session of the account was signed out."
            ),
            "someone else can read this mailbox. Secure it, then ask for a password reset email \
             from the sign-in page, and tell your administrator.",
        ),
        SecurityNotice::AddressChangedFrom => (
            "Your PlanoAuth sign-in address was changed",
            format!(
                "At {when}, the PlanoAuth account of this address was given another address. \
                 Sign-in and password reset emails go to that address from now on, and reset \
                 links sent here before no longer work."
            ),
            "tell your administrator at once: they can give the account its address back.",
        ),
        SecurityNotice::AddressChangedTo => (
            "This address now signs in to PlanoAuth",
            format!(
                "At {when}, this address became the sign-in address of a PlanoAuth account: \
                 its sign-in and password reset emails come here from now on."
            ),
            "tell the administrator of the PlanoAuth account, or reply to this email.",
        ),
        SecurityNotice::PasskeyAdded => (
            "A passkey was added to your PlanoAuth account",
            format!(
                "At {when}, a passkey was added to the PlanoAuth account of this address: it \
                 signs in to the account from now on."
            ),
            "someone else holds a signed-in session of yours. Sign in, remove the passkey \
             from your passkeys, change your password, and tell your administrator.",
        ),
        SecurityNotice::PasskeyRemoved => (
            "A passkey was removed from your PlanoAuth account",
            format!(
                "At {when}, a passkey was removed from the PlanoAuth account of this address: \
                 it no longer signs in."
            ),
            "someone else holds a signed-in session of yours. Sign in, look at your \
             passkeys, change your password, and tell your administrator.",
        ),
        SecurityNotice::PasskeyCounterRegressed => (
            "A sign-in to your PlanoAuth account was refused",
            format!(
                "At {when}, a sign-in with one of the passkeys of the PlanoAuth account of this \
                 address was refused: the authenticator's counter went backwards, as it does \
                 when someone uses a copy of a passkey."
            ),
            "a copy of your passkey may exist. Sign in, remove that passkey, add a new one, \
             and tell your administrator.",
        ),
        SecurityNotice::TotpEnabled => (
            "Two-step sign-in was turned on for your PlanoAuth account",
            format!(
                "At {when}, an authenticator app's codes (TOTP) were turned on for the \
                 PlanoAuth account of this address: signing in with the password asks for a \
                 code from then on."
            ),
            "someone else holds a signed-in session of yours and can sign in with their \
             own codes. Ask for a password reset email from the sign-in page, and tell your \
             administrator.",
        ),
        SecurityNotice::TotpDisabled => (
            "Two-step sign-in was turned off for your PlanoAuth account",
            format!(
                "At {when}, the authenticator app's codes (TOTP) of the PlanoAuth account of \
                 this address were turned off, and its recovery codes with them: the password \
                 alone signs in again."
            ),
            "someone else holds a signed-in session of yours and one of your codes. Sign in, \
             change your password, turn the codes on again, and tell your administrator.",
        ),
        SecurityNotice::RecoveryCodesRegenerated => (
            "New recovery codes for your PlanoAuth account",
            format!(
                "At {when}, a new set of recovery codes was made for the PlanoAuth account of \
                 this address: the old ones no longer work."
            ),
            "someone else holds a signed-in session of yours and one of your codes. Sign in, \
             change your password, make new recovery codes, and tell your administrator.",
        ),
        SecurityNotice::RecoveryCodeUsed => (
            "A recovery code of your PlanoAuth account was used",
            format!(
                "At {when}, one of the recovery codes of the PlanoAuth account of this address \
                 was used; it no longer works."
            ),
            "someone else has your password and your recovery codes. Sign in, change your \
             password, make new recovery codes, and tell your administrator.",
        ),
        SecurityNotice::TotpCodeReused => (
            "A used code was tried on your PlanoAuth account",
            format!(
                "At {when}, a code of the authenticator app of the PlanoAuth account of this \
                 address was given a second time, and refused: each code works once."
            ),
            "someone else may have seen one of your codes. Change your password, and tell \
             your administrator.",
        ),
    };
    let text = format!(
        "Hello,\n\n{what}\n\nIf this was you, there is nothing to do. If it was not, \
         {if_not_you} The sign-in page is {sign_in_url}.\n\n\
         This is a security notice: it asks for nothing, and no link in it does anything \
         without signing in.\n"
    );
    let html = format!(
        "<!DOCTYPE html><html><body>\
         <p>Hello,</p><p>{what}</p>\
         <p>If this was you, there is nothing to do. If it was not, {if_not_you} \
         <a href=\"{url}\">Sign in</a>.</p>\
         <p>This is a security notice: it asks for nothing, and no link in it does anything \
         without signing in.</p>\
         </body></html>",
        what = escape(&what),
        if_not_you = escape(if_not_you),
        url = escape(sign_in_url),
    );
    (subject.to_owned(), text, html)
}

/// Escapes text for HTML, so a name can never inject markup.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_welcome_names_the_person_and_the_sign_in_page() {
        let (subject, text, html) = onboarding_message(
            &Onboarding {
                to: "ada@example.com",
                first_name: "Ada",
                last_name: "<b>Lovelace</b>",
            },
            "https://app.planoauth.example/sign-in",
        );
        assert_eq!(subject, "Welcome to PlanoAuth, Ada");
        assert!(text.contains("Hello Ada <b>Lovelace</b>,"));
        assert!(text.contains("https://app.planoauth.example/sign-in"));
        assert!(html.contains("Hello Ada &lt;b&gt;Lovelace&lt;/b&gt;,"));
        assert!(html.contains("href=\"https://app.planoauth.example/sign-in\""));
        assert!(text.contains("replace it with a password of your own"));
    }

    #[test]
    fn a_security_notice_says_what_changed_and_what_to_do_and_links_only_to_sign_in() {
        for notice in SecurityNotice::ALL {
            let (subject, text, html) = security_notice_message(
                notice,
                "2026-12-01T10:00:00Z",
                "https://app.planoauth.example/sign-in",
            );
            assert!(subject.contains("PlanoAuth"), "{subject}");
            assert!(text.contains("2026-12-01T10:00:00Z"), "{text}");
            assert!(text.contains("If this was you, there is nothing to do."));
            assert!(text.contains("If it was not"));
            assert_eq!(html.matches("href=").count(), 1, "{html}");
            assert!(html.contains("href=\"https://app.planoauth.example/sign-in\""));
            assert!(!text.contains("reset_token"), "{text}");
        }
    }

    #[test]
    fn the_reset_email_links_to_the_reset_page_with_the_token() {
        let link = reset_link("https://app.planoauth.example/reset", "prt_abc");
        assert_eq!(
            link,
            "https://app.planoauth.example/reset?reset_token=prt_abc"
        );
        assert_eq!(
            reset_link("https://app.planoauth.example/reset?lang=en", "prt_abc"),
            "https://app.planoauth.example/reset?lang=en&reset_token=prt_abc"
        );
        let (_, text, html) = password_reset_message(&link, 30);
        assert!(text.contains(&link) && text.contains("30 minutes"));
        assert!(html.contains("href=\"https://app.planoauth.example/reset?reset_token=prt_abc\""));
    }
}
