//! A function written the ordinary way: the SDK's default provider chain and a DynamoDB
//! client with the SDK's default HTTPS client, built at init, answering without calling
//! it. `make bench` measures PlanoAuth's functions against it as well as the bare one.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    lambda_http::run(service_fn(move |_request: Request| {
        // Held as a handler would hold it, so that it is built at init.
        let _client = client.clone();
        async { Ok::<_, Error>(Response::new(Body::Text("hello".into()))) }
    }))
    .await
}
