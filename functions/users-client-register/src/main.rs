#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|_| Ok(users_client_register::UsersClientRegister::default())).await
}
