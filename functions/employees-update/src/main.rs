use employees_update::EmployeesUpdate;
use planoauth::mail::Mailer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    planoauth::runtime::run(|config| {
        Ok(EmployeesUpdate {
            mailer: Mailer::from_env(config)?,
        })
    })
    .await
}
