//! `planoauth-admin`: the operator's tool for what has no public route (`planoauth-admin
//! --help` lists the commands). It acts on whatever AWS the environment names
//! (`AWS_ENDPOINT_URL` for the local stack) and finds the tables through the same
//! `*_TABLE` variables the functions read.

use clap::Parser;
use planoauth::aws::aws_config;
use planoauth_admin::cli::Cli;
use planoauth_admin::commands::{self, Environment};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // `--help`, `--version` and a line clap cannot read end here, as clap words them.
    let cli = Cli::parse();
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
    match commands::execute(cli.command, &environment).await {
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
