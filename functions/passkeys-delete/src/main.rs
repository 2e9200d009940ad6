use passkeys_delete::PasskeysDelete;
use planoauth::mail::Mailer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(PasskeysDelete {
            mailer: Mailer::from_env(config)?,
        })
    })
    .await
}
