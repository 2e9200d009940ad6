use lambda_runtime::{Error, LambdaEvent, service_fn};
use planoauth::App;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    planoauth::runtime::init_logging();
    let app = App::from_env(&planoauth::aws::lambda_config()?)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let app = &app;
        async move {
            sessions_cleanup::handle(app, event)
                .await
                .map_err(|error| -> Error { error.into() })
        }
    }))
    .await
}
