use lambda_http::{Error, Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    planoauth::runtime::init_logging();
    lambda_http::run(service_fn(|request: Request| async move {
        Ok::<_, Error>(route_fallback::answer(&request))
    }))
    .await
}
