//! A function invoked as Lambda invokes it, on this machine: its own binary (its `main`,
//! its environment, its init) under AWS's Lambda Runtime Interface Emulator, the program
//! `sam local invoke` runs inside its container, which serves the Lambda Runtime API the
//! binary polls. No container: the emulator runs the binary directly.
//!
//! The environment is the one `template.yaml` gives the function (its globals' and its
//! own variables), resolved for the local stack: tables by the install's prefix,
//! parameters by the local values, the layers' `/opt` by the repository's `layers/`, and
//! the endpoint by the stack's. A sample event's placeholders are filled in from the
//! install, so that no real token is ever written into `events/`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use planoauth::error::BoxError;
use planoauth_admin::template::{EnvironmentValue, Template, TemplateFunction};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Where a sample event takes the application token of the install's `planoauth`...
pub const APPLICATION_TOKEN: &str = "PLANOAUTH_APPLICATION_TOKEN";
/// ...a session of a user made for the event...
pub const SESSION_TOKEN: &str = "PLANOAUTH_SESSION_TOKEN";
/// ...and that user's password (inside a base64-encoded body too).
pub const PASSWORD: &str = "PLANOAUTH_PASSWORD";

/// The local stack and install a function runs against.
#[derive(Debug, Clone)]
pub struct Local {
    /// The prefix of the install's table names (`planoauth-local-` for `make run`).
    pub prefix: String,
    /// The stack's endpoint, as the function reaches it.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Template parameters' values, by parameter name; the rest keep their defaults.
    pub parameters: BTreeMap<String, String>,
    /// The repository's `layers/` folder, each of whose folders is a layer's content, as
    /// Lambda merges them into `/opt`; or `None` to keep `/opt` paths as they are (a
    /// container, where SAM mounts the layers).
    pub layers: Option<PathBuf>,
}

impl Local {
    /// The stack the environment names (`AWS_ENDPOINT_URL` and the rest, as
    /// `scripts/stack.sh` prints them), for the install with table prefix `prefix`.
    pub fn from_env(prefix: &str, layers: Option<PathBuf>) -> Result<Local, BoxError> {
        let variable = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(Local {
            prefix: prefix.to_owned(),
            endpoint: variable("AWS_ENDPOINT_URL")?,
            region: variable("AWS_REGION")?,
            access_key_id: variable("AWS_ACCESS_KEY_ID")?,
            secret_access_key: variable("AWS_SECRET_ACCESS_KEY")?,
            parameters: BTreeMap::new(),
            layers,
        })
    }
}

/// The function whose binary an event file's name starts with (the longest such), as
/// `events/employees-update-missing-email.json` is `employees-update`'s.
pub fn function_for_event(template: &Template, event: &Path) -> Option<TemplateFunction> {
    let stem = event.file_stem()?.to_str()?;
    let mut binaries = template.function_binaries();
    binaries.sort_by_key(|binary| std::cmp::Reverse(binary.len()));
    let binary = binaries.into_iter().find(|binary| {
        stem == binary
            || stem
                .strip_prefix(binary.as_str())
                .is_some_and(|rest| rest.starts_with('-'))
    })?;
    template.function(&binary)
}

/// The environment the template gives `function`, resolved for `local`, with what Lambda
/// itself sets (the region and the credentials).
pub fn environment(
    template: &Template,
    function: &TemplateFunction,
    local: &Local,
) -> Result<BTreeMap<String, String>, BoxError> {
    let mut variables = BTreeMap::new();
    for (name, value) in &function.environment {
        let resolved = match value {
            EnvironmentValue::Literal(text) => text.clone(),
            EnvironmentValue::Ref(reference) => resolve(template, local, reference)?,
            EnvironmentValue::Sub(text) => substitute(template, local, text)?,
        };
        variables.insert(name.clone(), on_this_machine(resolved, local));
    }
    if variables.contains_key("AWS_ENDPOINT_URL") {
        variables.insert("AWS_ENDPOINT_URL".into(), local.endpoint.clone());
    }
    variables.insert("AWS_REGION".into(), local.region.clone());
    variables.insert("AWS_DEFAULT_REGION".into(), local.region.clone());
    variables.insert("AWS_ACCESS_KEY_ID".into(), local.access_key_id.clone());
    variables.insert(
        "AWS_SECRET_ACCESS_KEY".into(),
        local.secret_access_key.clone(),
    );
    variables.insert(
        "AWS_LAMBDA_FUNCTION_NAME".into(),
        function.logical_id.clone(),
    );
    Ok(variables)
}

/// A `!Ref`: a parameter's value (the local one, else its default), or a resource's
/// name, which for a table is the install's prefix and its logical id, and for the TOTP
/// key's alias the alias `planoauth-admin create-tables` made.
fn resolve(template: &Template, local: &Local, name: &str) -> Result<String, BoxError> {
    if let Some(value) = local.parameters.get(name) {
        return Ok(value.clone());
    }
    if let Some(default) = template.parameter_default(name) {
        return Ok(default);
    }
    match name {
        "AWS::Region" => Ok(local.region.clone()),
        "AWS::Partition" => Ok("aws".to_owned()),
        planoauth_admin::keys::TOTP_KEY_ALIAS => {
            Ok(planoauth_admin::keys::totp_key_alias(&local.prefix))
        }
        _ if template.has_resource(name) => Ok(format!("{}{name}", local.prefix)),
        _ => Err(format!("the template's !Ref {name} names nothing").into()),
    }
}

/// A `!Sub`: every `${NAME}` resolved as a `!Ref` is.
fn substitute(template: &Template, local: &Local, text: &str) -> Result<String, BoxError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in {text}"))?;
        out.push_str(&rest[..start]);
        out.push_str(&resolve(template, local, &rest[start + 2..start + end])?);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A path under `/opt` as the layer folder that holds its first component; any other
/// value as it is.
fn on_this_machine(value: String, local: &Local) -> String {
    let (Some(layers), Some(path)) = (&local.layers, value.strip_prefix("/opt/")) else {
        return value;
    };
    let first = path.split('/').next().unwrap_or_default();
    std::fs::read_dir(layers)
        .into_iter()
        .flatten()
        .flatten()
        .map(|layer| layer.path())
        .find(|layer| !first.is_empty() && layer.join(first).exists())
        .map(|layer| layer.join(path).to_string_lossy().into_owned())
        .unwrap_or(value)
}

/// What fills a sample event's placeholders.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub application: String,
    pub session: Option<String>,
    pub password: Option<String>,
}

/// Whether an event needs a signed-in user (a session, or its password).
pub fn needs_user(event: &str) -> bool {
    let decoded = encoded_body(event).unwrap_or_default();
    [event, decoded.as_str()]
        .iter()
        .any(|text| text.contains(SESSION_TOKEN) || text.contains(PASSWORD))
}

/// The event with its placeholders filled in, in its body as it is sent (plain, or the
/// base64-encoded JSON of a sensitive route), its `content-length` kept true.
pub fn render(event: &str, tokens: &Tokens) -> Result<String, BoxError> {
    let fill = |text: &str| -> Result<String, BoxError> {
        let mut text = text.replace(APPLICATION_TOKEN, &tokens.application);
        for (placeholder, value) in [
            (SESSION_TOKEN, &tokens.session),
            (PASSWORD, &tokens.password),
        ] {
            if text.contains(placeholder) {
                let value = value
                    .as_deref()
                    .ok_or_else(|| format!("the event needs a value for {placeholder}"))?;
                text = text.replace(placeholder, value);
            }
        }
        Ok(text)
    };
    let mut parsed: Value = serde_json::from_str(event)?;
    let body = match (parsed["body"].as_str(), encoded_body(event)) {
        (Some(_), Some(decoded)) => Some(STANDARD.encode(fill(&decoded)?)),
        (Some(body), None) => Some(fill(body)?),
        (None, _) => None,
    };
    if let Some(body) = body {
        if parsed["headers"].get("content-length").is_some() {
            parsed["headers"]["content-length"] = Value::from(body.len().to_string());
        }
        parsed["body"] = Value::from(body);
    }
    let rendered = fill(&parsed.to_string())?;
    Ok(rendered)
}

/// The JSON a sensitive route's base64-encoded body holds, if the body is one.
fn encoded_body(event: &str) -> Option<String> {
    let parsed: Value = serde_json::from_str(event).ok()?;
    let bytes = STANDARD.decode(parsed["body"].as_str()?).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    serde_json::from_str::<Value>(&text)
        .ok()
        .filter(Value::is_object)?;
    Some(text)
}

/// AWS's Lambda Runtime Interface Emulator, as the pinned SAM CLI ships it.
#[derive(Debug, Clone)]
pub struct Emulator {
    pub program: PathBuf,
}

/// What one invocation did.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The function's answer (for an HTTP event, API Gateway's response object).
    pub answer: Value,
    /// The emulator's `REPORT` line: duration, billed duration, memory.
    pub report: Option<String>,
    /// Everything the emulator and the function printed.
    pub output: String,
}

impl Invocation {
    /// An HTTP answer's envelope `status`; for a scheduled function's report, whether
    /// its run was `complete`; else the answer as it is.
    pub fn status(&self) -> String {
        let envelope = self.answer["body"]
            .as_str()
            .and_then(|body| serde_json::from_str::<Value>(body).ok());
        match (envelope, self.answer.get("complete")) {
            (Some(envelope), _) => envelope["status"].as_str().unwrap_or_default().to_owned(),
            (None, Some(Value::Bool(true))) => "complete".to_owned(),
            (None, Some(Value::Bool(false))) => "incomplete".to_owned(),
            _ => self.answer.to_string(),
        }
    }
}

const INVOCATIONS: &str = "/2015-03-31/functions/function/invocations";

impl Emulator {
    /// Runs `binary` under the emulator with exactly `environment` (and `PATH`), sends it
    /// `event`, and stops it once it has reported.
    pub async fn invoke(
        &self,
        binary: &Path,
        environment: &BTreeMap<String, String>,
        event: &str,
    ) -> Result<Invocation, BoxError> {
        if !binary.is_file() {
            return Err(format!("{} is not built", binary.display()).into());
        }
        let address = free_address()?;
        let mut child = Command::new(&self.program)
            .arg("--runtime-interface-emulator-address")
            .arg(&address)
            .arg("--log-level")
            .arg("error")
            .arg(binary)
            .env_clear()
            .envs(environment)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.program.display()))?;
        let output = Arc::new(Mutex::new(String::new()));
        collect(&mut child, &output);
        let answered = async {
            wait_until_listening(&address, &mut child).await?;
            post(&address, INVOCATIONS, event).await
        };
        let answer = tokio::time::timeout(Duration::from_secs(60), answered).await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(_) => Err("the emulator gave no answer within a minute".into()),
        };
        let report = wait_for_report(&output).await;
        stop(child).await;
        let output = output.lock().map(|o| o.clone()).unwrap_or_default();
        let answer = answer.map_err(|e| format!("{e}\n{output}"))?;
        let answer = serde_json::from_str(&answer)
            .map_err(|_| format!("the emulator answered what is not JSON: {answer}\n{output}"))?;
        Ok(Invocation {
            answer,
            report,
            output,
        })
    }
}

/// A free port on the loopback interface, as `host:port`.
fn free_address() -> Result<String, BoxError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

/// Copies the child's output, both streams, into `output` as it comes.
fn collect(child: &mut Child, output: &Arc<Mutex<String>>) {
    fn lines<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
        stream: R,
        output: Arc<Mutex<String>>,
    ) {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut output) = output.lock() {
                    output.push_str(&line);
                    output.push('\n');
                }
            }
        });
    }
    if let Some(stdout) = child.stdout.take() {
        lines(stdout, Arc::clone(output));
    }
    if let Some(stderr) = child.stderr.take() {
        lines(stderr, Arc::clone(output));
    }
}

async fn wait_until_listening(address: &str, child: &mut Child) -> Result<(), BoxError> {
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the emulator exited ({status}) before it listened").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err("the emulator never listened".into())
}

/// The `REPORT` line, which the emulator prints once the function has answered.
async fn wait_for_report(output: &Arc<Mutex<String>>) -> Option<String> {
    for _ in 0..200 {
        let report = output.lock().ok().and_then(|output| {
            output
                .lines()
                .find(|line| line.starts_with("REPORT "))
                .map(|line| line.trim_end().to_owned())
        });
        if report.is_some() {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Stops the emulator as Lambda ends an environment: asked first (it ends the function's
/// process), made to after a second.
async fn stop(mut child: Child) {
    if let Some(pid) = child.id() {
        let asked = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if asked.is_ok_and(|status| status.success())
            && tokio::time::timeout(Duration::from_secs(1), child.wait())
                .await
                .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

/// POSTs `body` over plain HTTP/1.1 and returns the answer's body.
pub async fn post(address: &str, path: &str, body: &str) -> Result<String, BoxError> {
    http_request(address, "POST", path, body).await
}

/// One plain HTTP/1.1 request on a connection of its own (the emulators speak nothing
/// more); the answer's body, de-chunked where the server chunked it.
pub async fn http_request(
    address: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Result<String, BoxError> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("the answer is not HTTP")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &str) -> String {
        serde_json::json!({
            "headers": {"content-length": "3"},
            "requestContext": {},
            "body": body,
        })
        .to_string()
    }

    #[test]
    fn placeholders_are_filled_in_plain_and_encoded_bodies() {
        let tokens = Tokens {
            application: "pa_app_x".into(),
            session: Some("pa_ses_y".into()),
            password: Some("pass-Word-1".into()),
        };
        let plain = render(&event(r#"{"token": "PLANOAUTH_SESSION_TOKEN"}"#), &tokens).unwrap();
        let plain: Value = serde_json::from_str(&plain).unwrap();
        assert_eq!(plain["body"], r#"{"token": "pa_ses_y"}"#);
        assert_eq!(plain["headers"]["content-length"], "21");
        let encoded = STANDARD.encode(r#"{"current_password": "PLANOAUTH_PASSWORD"}"#);
        assert!(needs_user(&event(&encoded)));
        let rendered: Value =
            serde_json::from_str(&render(&event(&encoded), &tokens).unwrap()).unwrap();
        let body = STANDARD.decode(rendered["body"].as_str().unwrap()).unwrap();
        assert_eq!(body, br#"{"current_password": "pass-Word-1"}"#);
        assert!(!needs_user(&event(
            r#"{"token": "PLANOAUTH_APPLICATION_TOKEN"}"#
        )));
        let missing = render(&event("PLANOAUTH_SESSION_TOKEN"), &Tokens::default());
        assert!(missing.is_err(), "a placeholder left unfilled is an error");
    }

    #[test]
    fn opt_paths_are_found_in_the_layer_that_holds_them() {
        let layers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../layers");
        let local = Local {
            prefix: String::new(),
            endpoint: String::new(),
            region: String::new(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            parameters: BTreeMap::new(),
            layers: Some(layers.clone()),
        };
        let here = |value: &str| on_this_machine(value.to_owned(), &local);
        assert_eq!(
            here("/opt/partitions/aws.json"),
            layers
                .join("endpoint-partitions/partitions/aws.json")
                .to_string_lossy()
        );
        assert_eq!(
            here("/opt/breached-passwords/filter.bin"),
            layers
                .join("breached-passwords/breached-passwords/filter.bin")
                .to_string_lossy()
        );
        assert_eq!(here("/opt/nowhere/file"), "/opt/nowhere/file");
        assert_eq!(here("info"), "info");
    }
}
