use passkeys_register_start::PasskeysRegisterStart;
use planoauth::passkeys::RelyingParty;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|_| {
        Ok(PasskeysRegisterStart {
            party: RelyingParty::from_env()?,
        })
    })
    .await
}
