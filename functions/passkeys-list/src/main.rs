use passkeys_list::PasskeysList;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|_| Ok(PasskeysList)).await
}
