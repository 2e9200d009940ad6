use planoauth::domain::Limits;
use planoauth::mail::Mailer;
use users_password_update::UsersPasswordUpdate;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(UsersPasswordUpdate {
            mailer: Mailer::from_env(config)?,
            limits: Limits::PASSWORDS,
        })
    })
    .await
}
