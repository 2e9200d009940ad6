use planoauth::secrets::SecretBox;
use users_totp_enroll::UsersTotpEnroll;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(UsersTotpEnroll {
            secrets: SecretBox::from_env(config)?,
        })
    })
    .await
}
