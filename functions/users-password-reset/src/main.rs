use planoauth::mail::Mailer;
use users_password_reset::UsersPasswordReset;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(UsersPasswordReset {
            mailer: Mailer::from_env(config)?,
        })
    })
    .await
}
