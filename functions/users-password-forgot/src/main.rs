use planoauth::mail::Mailer;
use users_password_forgot::UsersPasswordForgot;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(UsersPasswordForgot {
            mailer: Mailer::from_env(config)?,
            pacing: Default::default(),
        })
    })
    .await
}
