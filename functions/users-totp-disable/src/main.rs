use planoauth::domain::Limits;
use planoauth::mail::Mailer;
use planoauth::secrets::SecretBox;
use users_totp_disable::UsersTotpDisable;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(UsersTotpDisable {
            secrets: SecretBox::from_env(config)?,
            mailer: Mailer::from_env(config)?,
            limits: Limits::PASSWORDS,
        })
    })
    .await
}
