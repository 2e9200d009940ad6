//! `local-api`: the whole PlanoAuth API on http://127.0.0.1:$PORT (default 3000), on
//! whatever AWS the environment names (the local stack under `make run`), and the page
//! that tries it at `/`, signing in with `LOCAL_PAGE_APPLICATION_TOKEN`.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use local_api::page::{self, Page};
use planoauth::App;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    planoauth::runtime::init_logging();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let config = planoauth::aws::aws_config().await?;
    let app = Arc::new(App::from_env(&config)?);
    let functions = Arc::new(local_api::Functions::from_env(&config)?);
    let page = Arc::new(Page::new(
        std::env::var("LOCAL_PAGE_APPLICATION_TOKEN")
            .ok()
            .as_deref(),
    ));
    local_api::schedules::start(
        Arc::clone(&app),
        planoauth::mail::Mailer::from_env(&config)?,
    );
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("PlanoAuth API listening on http://127.0.0.1:{port}");
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let (app, functions, page) = (Arc::clone(&app), Arc::clone(&functions), Arc::clone(&page));
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let (app, functions, page) =
                    (Arc::clone(&app), Arc::clone(&functions), Arc::clone(&page));
                async move {
                    let host = request
                        .headers()
                        .get(header::HOST)
                        .and_then(|host| host.to_str().ok());
                    let file = page
                        .file(request.method().as_str(), request.uri().path())
                        .filter(|_| page::is_local_host(host, port));
                    Ok::<_, Infallible>(match file {
                        Some(file) => page_file(file),
                        None => answer(&app, &functions, request).await,
                    })
                }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed");
            }
        });
    }
}

async fn answer(
    app: &App,
    functions: &local_api::Functions,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let event = local_api::http_api_event(parts.method.as_str(), path, &headers, &body);
    let response = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => local_api::dispatch(app, functions, request).await,
        Err(error) => {
            tracing::error!(%error, "event could not be decoded");
            planoauth::respond::envelope(
                planoauth::Status::IdentifyRequestError,
                planoauth::Status::IdentifyRequestError.message(),
                None,
                None,
            )
        }
    };
    let (parts, body) = response.into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::from(body.to_vec())))
}

fn page_file(file: page::File) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(file.body)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::CONTENT_SECURITY_POLICY),
    );
    planoauth::respond::protect(headers);
    response
}
