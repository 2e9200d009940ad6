use planoauth::mail::Mailer;
use planoauth::secrets::SecretBox;
use users_totp_confirm::UsersTotpConfirm;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(UsersTotpConfirm {
            secrets: SecretBox::from_env(config)?,
            mailer: Mailer::from_env(config)?,
        })
    })
    .await
}
