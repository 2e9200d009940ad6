use planoauth::passkeys::RelyingParty;
use sessions_passkey_start::SessionsPasskeyStart;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|_| {
        Ok(SessionsPasskeyStart {
            party: RelyingParty::from_env()?,
        })
    })
    .await
}
