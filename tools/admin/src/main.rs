//! `planoauth-admin`: what an operator does that has no public route.
//!
//! ```text
//! planoauth-admin create-tables [--template template.yaml] [--prefix planoauth-local-]
//! planoauth-admin bootstrap --api-url URL [--admin-email EMAIL] [--out .local/bootstrap.json]
//! planoauth-admin verify-sender --address no-reply@planoauth.example
//! ```
//!
//! It talks to whatever AWS the environment names (`AWS_ENDPOINT_URL` for the local
//! stack); `bootstrap` finds the tables through the same variables the functions use.

use planoauth::App;
use planoauth::app::aws_config;
use planoauth::error::BoxError;
use planoauth_admin::{bootstrap, tables, template::Template};
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage:
  planoauth-admin create-tables [--template template.yaml] [--prefix planoauth-local-]
  planoauth-admin bootstrap --api-url URL [--admin-email EMAIL] [--out .local/bootstrap.json]
  planoauth-admin verify-sender --address ADDRESS";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("planoauth-admin: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<(), BoxError> {
    let (command, options) = args.split_first().ok_or(USAGE)?;
    let options = parse_options(options)?;
    let option = |name: &str, default: &str| {
        options
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    match command.as_str() {
        "create-tables" => {
            let template = Template::load(Path::new(&option("template", "template.yaml")))?;
            let prefix = option("prefix", "planoauth-local-");
            let client = aws_sdk_dynamodb::Client::new(&aws_config().await);
            tables::create_tables(&client, &template, &prefix).await?;
            for (variable, name) in tables::environment(&prefix) {
                println!("export {variable}={name}");
            }
            Ok(())
        }
        "bootstrap" => {
            let api_url = options.get("api-url").ok_or("bootstrap needs --api-url")?;
            let app = App::from_env(&aws_config().await)?;
            let data = bootstrap::bootstrap(
                &app,
                api_url,
                &option("admin-email", "admin@planoauth.local"),
            )
            .await?;
            let json = serde_json::to_string_pretty(&data)?;
            match options.get("out") {
                Some(path) => {
                    if let Some(parent) = Path::new(path).parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::write(path, json + "\n")?;
                    eprintln!("Bootstrapped; what a client needs is in {path}:");
                    for (application, token) in &data.applications {
                        eprintln!("  {application:<11} {token}");
                    }
                    eprintln!(
                        "  {:<11} {} / {}",
                        "admin", data.admin.email, data.admin.password
                    );
                }
                None => println!("{json}"),
            }
            Ok(())
        }
        "verify-sender" => {
            let address = options
                .get("address")
                .ok_or("verify-sender needs --address")?;
            let ses = aws_sdk_ses::Client::new(&aws_config().await);
            ses.verify_email_identity()
                .email_address(address)
                .send()
                .await?;
            eprintln!("asked SES to verify {address}; follow the link SES sends to it");
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

fn parse_options(args: &[String]) -> Result<HashMap<String, String>, BoxError> {
    let mut options = HashMap::new();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {flag}\n{USAGE}"))?;
        let value = args
            .next()
            .ok_or_else(|| format!("--{name} needs a value"))?;
        options.insert(name.to_owned(), value.clone());
    }
    Ok(options)
}
