#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|_| Ok(sessions_create::SessionsCreate::default())).await
}
