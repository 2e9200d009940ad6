use lambda_runtime::{Error, LambdaEvent, service_fn};
use planoauth::App;
use planoauth::mail::Mailer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    planoauth::runtime::init_logging();
    let config = planoauth::aws::lambda_config()?;
    let app = App::from_env(&config)?;
    let mailer = Mailer::from_env(&config)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (app, mailer) = (&app, &mailer);
        async move {
            notifications_retry::handle(app, mailer, event)
                .await
                .map_err(|error| -> Error { error.into() })
        }
    }))
    .await
}
