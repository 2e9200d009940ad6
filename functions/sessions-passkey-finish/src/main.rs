use planoauth::domain::Limits;
use planoauth::mail::Mailer;
use planoauth::passkeys::RelyingParty;
use sessions_passkey_finish::SessionsPasskeyFinish;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(SessionsPasskeyFinish {
            party: RelyingParty::from_env()?,
            mailer: Mailer::from_env(config)?,
            limits: Limits::PASSWORDS,
        })
    })
    .await
}
