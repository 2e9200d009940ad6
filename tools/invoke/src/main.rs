//! `planoauth-invoke`: invokes one function with a sample event, as `make invoke` runs it.
//!
//!   planoauth-invoke --event events/FILE.json [--function NAME]
//!       [--bootstrap .local/bootstrap.json] [--prefix planoauth-local-]
//!       [--parameter NAME=VALUE ...] [--binaries target/debug] --emulator PATH
//!   planoauth-invoke --event ... --for-sam DIR --endpoint URL
//!
//! The first runs the function's binary under the Lambda Runtime Interface Emulator
//! against the stack the environment names (`AWS_ENDPOINT_URL`, ...) and prints its answer
//! and the emulator's `REPORT` line. The second writes the rendered event and the
//! environment (`--env-vars` form, with `URL` as the endpoint a container reaches) into
//! `DIR` for `sam local invoke`, and prints the function's logical id.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use planoauth::error::BoxError;
use planoauth_admin::template::{Template, TemplateFunction};
use planoauth_invoke::{Emulator, Local, Tokens, environment, function_for_event, needs_user};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("planoauth-invoke: {error}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Default)]
struct Args {
    event: Option<PathBuf>,
    function: Option<String>,
    bootstrap: Option<PathBuf>,
    prefix: Option<String>,
    parameters: BTreeMap<String, String>,
    binaries: Option<PathBuf>,
    emulator: Option<PathBuf>,
    for_sam: Option<PathBuf>,
    endpoint: Option<String>,
}

fn parse(args: Vec<String>) -> Result<Args, BoxError> {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--event" => parsed.event = Some(value()?.into()),
            "--function" => parsed.function = Some(value()?),
            "--bootstrap" => parsed.bootstrap = Some(value()?.into()),
            "--prefix" => parsed.prefix = Some(value()?),
            "--parameter" => {
                let pair = value()?;
                let (name, value) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--parameter takes NAME=VALUE, not {pair}"))?;
                parsed.parameters.insert(name.to_owned(), value.to_owned());
            }
            "--binaries" => parsed.binaries = Some(value()?.into()),
            "--emulator" => parsed.emulator = Some(value()?.into()),
            "--for-sam" => parsed.for_sam = Some(value()?.into()),
            "--endpoint" => parsed.endpoint = Some(value()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(parsed)
}

async fn run(args: Vec<String>) -> Result<(), BoxError> {
    let args = parse(args)?;
    let event_path = args.event.ok_or("--event is required")?;
    let template = Template::load(Path::new("template.yaml"))?;
    let function = match &args.function {
        Some(binary) => template.function(binary),
        None => function_for_event(&template, &event_path),
    }
    .ok_or_else(|| {
        format!(
            "no function of template.yaml for {}: name it with FUNCTION=",
            event_path.display()
        )
    })?;
    let event = std::fs::read_to_string(&event_path)
        .map_err(|e| format!("{}: {e}", event_path.display()))?;
    let bootstrap = args
        .bootstrap
        .unwrap_or_else(|| PathBuf::from(".local/bootstrap.json"));
    let install: Value = serde_json::from_str(
        &std::fs::read_to_string(&bootstrap)
            .map_err(|e| format!("{}: {e} (is `make run` running?)", bootstrap.display()))?,
    )?;
    let application = install["applications"]["planoauth"]
        .as_str()
        .ok_or("the bootstrap file has no planoauth token")?
        .to_owned();
    let prefix = args.prefix.unwrap_or_else(|| "planoauth-local-".into());
    let binaries = args
        .binaries
        .unwrap_or_else(|| PathBuf::from("target/debug"));
    let emulator = args.emulator.map(|program| Emulator { program });
    let mut local = Local::from_env(&prefix, Some(PathBuf::from("layers")))?;
    local.parameters = args.parameters;

    let mut tokens = Tokens {
        application,
        ..Tokens::default()
    };
    if needs_user(&event) {
        let emulator = emulator
            .as_ref()
            .ok_or("--emulator is needed to sign the event's user in")?;
        let (session, password) =
            user_for_event(&template, &local, emulator, &binaries, &tokens).await?;
        tokens.session = Some(session);
        tokens.password = Some(password);
    }
    let rendered = planoauth_invoke::render(&event, &tokens)?;

    if let Some(dir) = args.for_sam {
        let endpoint = args.endpoint.ok_or("--for-sam needs --endpoint")?;
        let mut in_container = local.clone();
        in_container.layers = None;
        in_container.endpoint = endpoint;
        let variables = environment(&template, &function, &in_container)?;
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("event.json"), &rendered)?;
        let env_vars = json!({ &function.logical_id: variables });
        std::fs::write(
            dir.join("env.json"),
            serde_json::to_string_pretty(&env_vars)?,
        )?;
        println!("{}", function.logical_id);
        return Ok(());
    }

    let emulator = emulator.ok_or("--emulator is required")?;
    let invocation = invoke(
        &template, &local, &emulator, &binaries, &function, &rendered,
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&invocation.answer)?);
    if let Some(body) = invocation.answer["body"]
        .as_str()
        .and_then(|body| serde_json::from_str::<Value>(body).ok())
    {
        println!("body: {}", serde_json::to_string_pretty(&body)?);
    }
    match &invocation.report {
        Some(report) => println!("{report}"),
        None => println!("(no REPORT line)\n{}", invocation.output),
    }
    Ok(())
}

async fn invoke(
    template: &Template,
    local: &Local,
    emulator: &Emulator,
    binaries: &Path,
    function: &TemplateFunction,
    event: &str,
) -> Result<planoauth_invoke::Invocation, BoxError> {
    let variables = environment(template, function, local)?;
    emulator
        .invoke(&binaries.join(&function.binary), &variables, event)
        .await
}

/// A photographer made for the event, signed in: their session's token and password.
/// Made through the functions themselves (`photographers/create`, `sessions/create`), so
/// that the install's admin and its password are left as they are.
async fn user_for_event(
    template: &Template,
    local: &Local,
    emulator: &Emulator,
    binaries: &Path,
    tokens: &Tokens,
) -> Result<(String, String), BoxError> {
    let suffix: String = (0..12)
        .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
        .collect();
    let email = format!("invoke-{suffix}@planoauth.local");
    let password = format!("Invoke-{suffix}-7");
    let create = json!({
        "token": tokens.application, "email": email, "password": password,
        "first_name": "Sample", "last_name": "Invoker", "phone": "+1 555 010 9999",
    });
    let created = call(
        template,
        local,
        emulator,
        binaries,
        "photographers-create",
        &create,
    )
    .await?;
    if created != "action-successful" {
        return Err(
            format!("making the event's user: photographers/create answered {created}").into(),
        );
    }
    let sign_in = json!({ "token": tokens.application, "email": email, "password": password });
    let function = template
        .function("sessions-create")
        .ok_or("template.yaml has no sessions-create")?;
    let event = sensitive_event("sessions/create", &sign_in);
    let invocation = invoke(template, local, emulator, binaries, &function, &event).await?;
    let body: Value = serde_json::from_str(invocation.answer["body"].as_str().unwrap_or("{}"))?;
    let session = body["session"]["token"]
        .as_str()
        .ok_or_else(|| format!("signing the event's user in answered {body}"))?;
    Ok((session.to_owned(), password))
}

/// Calls a sensitive route's function with `params`; the answer's status.
async fn call(
    template: &Template,
    local: &Local,
    emulator: &Emulator,
    binaries: &Path,
    binary: &str,
    params: &Value,
) -> Result<String, BoxError> {
    let function = template
        .function(binary)
        .ok_or_else(|| format!("template.yaml has no {binary}"))?;
    let route = binary.replacen('-', "/", 1);
    let event = sensitive_event(&route, params);
    let invocation = invoke(template, local, emulator, binaries, &function, &event).await?;
    Ok(invocation.status())
}

/// The HTTP API event of a POST to a sensitive route: its parameters base64-encoded.
fn sensitive_event(route: &str, params: &Value) -> String {
    let path = format!("/api/v1/{route}");
    json!({
        "version": "2.0",
        "routeKey": format!("POST {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": { "content-type": "application/json" },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": { "method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "planoauth-invoke" },
            "requestId": "planoauth-invoke",
            "routeKey": format!("POST {path}"),
            "stage": "$default",
            "time": "",
            "timeEpoch": 0,
        },
        "body": STANDARD.encode(params.to_string()),
        "isBase64Encoded": false,
    })
    .to_string()
}
