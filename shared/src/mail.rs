//! Email through Amazon SES (the old system used Mandrill). The onboarding message greets
//! the new employee by name and tells them where to sign in; it never holds a password.

use crate::error::BoxError;
use aws_sdk_ses::error::DisplayErrorContext;
use aws_sdk_ses::types::{Body, Content, Destination, Message};

/// Who sends PlanoAuth's email, and where its links point.
pub struct Mailer {
    client: aws_sdk_ses::Client,
    /// A verified SES identity, e.g. `PlanoAuth <no-reply@planoauth.example>`.
    sender: String,
    sign_in_url: String,
}

/// What a new employee's welcome says.
pub struct Onboarding<'a> {
    pub to: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[error("SES refused the email: {0}")]
pub struct MailError(String);

impl Mailer {
    pub fn new(
        client: aws_sdk_ses::Client,
        sender: impl Into<String>,
        sign_in_url: impl Into<String>,
    ) -> Self {
        Mailer {
            client,
            sender: sender.into(),
            sign_in_url: sign_in_url.into(),
        }
    }

    /// The production wiring: `ONBOARDING_SENDER` and `SIGN_IN_URL` from the environment
    /// (template parameters in `template.yaml`).
    pub fn from_env(config: &crate::aws::SdkConfig) -> Result<Mailer, BoxError> {
        let variable = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(Mailer::new(
            aws_sdk_ses::Client::new(config),
            variable("ONBOARDING_SENDER")?,
            variable("SIGN_IN_URL")?,
        ))
    }

    pub fn sender(&self) -> &str {
        &self.sender
    }

    pub async fn send_onboarding(&self, onboarding: &Onboarding<'_>) -> Result<(), MailError> {
        let (subject, text, html) = onboarding_message(onboarding, &self.sign_in_url);
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
        self.client
            .send_email()
            .source(&self.sender)
            .destination(Destination::builder().to_addresses(onboarding.to).build())
            .message(message)
            .send()
            .await
            .map_err(|error| MailError(DisplayErrorContext(error).to_string()))?;
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
         ({email}) and the initial password you were given, then choose a password of your own.\n\n\
         If you were not expecting this email, please let us know by replying to it.\n",
        email = onboarding.to,
    );
    let html = format!(
        "<!DOCTYPE html><html><body>\
         <p>Hello {name},</p>\
         <p>Your PlanoAuth account is ready. <a href=\"{url}\">Sign in</a> with your email address \
         (<strong>{email}</strong>) and the initial password you were given, then choose a password of your own.</p>\
         <p>If you were not expecting this email, please let us know by replying to it.</p>\
         </body></html>",
        name = escape(&name),
        url = escape(sign_in_url),
        email = escape(onboarding.to),
    );
    (subject, text, html)
}

/// Escapes text for HTML, so a name can never inject markup.
fn escape(text: &str) -> String {
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
    }
}
