//! `planoauth-admin`: the operator's tool for what has no public route (see
//! [`planoauth_admin::commands::USAGE`], or run it without arguments). It acts on
//! whatever AWS the environment names (`AWS_ENDPOINT_URL` for the local stack) and finds
//! the tables through the same `*_TABLE` variables the functions read.

use planoauth::aws::aws_config;
use planoauth_admin::commands::{self, Environment};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match aws_config().await {
        Ok(config) => config,
        Err(error) => {
            eprintln!("planoauth-admin: {error}");
            return ExitCode::FAILURE;
        }
    };
    let environment = Environment {
        config,
        tables: None,
        mailer: None,
    };
    match commands::run(&args, &environment).await {
        Ok(result) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&result).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("planoauth-admin: {error}");
            ExitCode::FAILURE
        }
    }
}
