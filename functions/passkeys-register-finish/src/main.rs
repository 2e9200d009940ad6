use passkeys_register_finish::PasskeysRegisterFinish;
use planoauth::mail::Mailer;
use planoauth::passkeys::RelyingParty;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(PasskeysRegisterFinish {
            party: RelyingParty::from_env()?,
            mailer: Mailer::from_env(config)?,
        })
    })
    .await
}
