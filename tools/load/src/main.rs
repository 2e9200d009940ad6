//! `planoauth-load`: concurrent clients for a fixed time against a PlanoAuth API on this
//! machine (`make load` starts one on the local stack). It prints requests per second,
//! latency percentiles and the count of each status, then checks that no acknowledged
//! write was lost: every client writes a field of its own, and the value it wrote last
//! must be the one stored.
//!
//!     planoauth-load --url http://127.0.0.1:PORT --token APPLICATION_TOKEN
//!         [--scenario one-record|own-records] [--clients 8] [--seconds 12] [--label TEXT]
//!
//! `one-record`: every client changes one employee record, each its own field, and every
//! fourth request the record's email address (the others send the address last seen).
//! `own-records`: the same requests, each client on a record of its own.
//! `sign-in-timing`: one client, sign-ins with a wrong password, alternately for an
//! address that has an account and for one that has none (each the same throughout); prints the median time of
//! each and their ratio (they should not tell the addresses apart).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The fields of an employee record the clients write, one each.
const FIELDS: [&str; 9] = [
    "first_name",
    "last_name",
    "legal_name",
    "phone",
    "address.street",
    "address.street2",
    "address.city",
    "address.state",
    "address.postal_code",
];
const MAX_SECONDS: u64 = 120;
const PASSWORD: &str = "steady-Beacon-64-canyon";

struct Options {
    address: SocketAddr,
    token: String,
    scenario: String,
    clients: usize,
    seconds: u64,
    label: String,
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("planoauth-load: {error}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), BoxError> {
    let options = options()?;
    if options.scenario == "sign-in-timing" {
        return sign_in_timing(&options).await;
    }
    let records = match options.scenario.as_str() {
        "one-record" => vec![create_employee(&options, 0).await?; options.clients],
        "own-records" => {
            let mut records = Vec::new();
            for client in 0..options.clients {
                records.push(create_employee(&options, client).await?);
            }
            records
        }
        other => return Err(format!("unknown scenario {other}").into()),
    };
    let options = Arc::new(options);
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let workers: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(client, record)| {
            tokio::spawn(work(
                Arc::clone(&options),
                client,
                Arc::clone(record),
                deadline,
            ))
        })
        .collect();
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.push(worker.await??);
    }
    let elapsed = started.elapsed();
    let lost = lost_writes(&options, &records, &outcomes).await?;
    report(&options, &outcomes, elapsed, lost);
    if lost > 0 {
        return Err(format!("{lost} acknowledged writes were lost").into());
    }
    Ok(())
}

fn options() -> Result<Options, BoxError> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut token) = (None, None);
    let mut options = Options {
        address: SocketAddr::from(([127, 0, 0, 1], 3000)),
        token: String::new(),
        scenario: "one-record".into(),
        clients: 8,
        seconds: 12,
        label: String::new(),
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => url = Some(value),
            "--token" => token = Some(value),
            "--scenario" => options.scenario = value,
            "--clients" => options.clients = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            "--label" => options.label = value,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let url = url.ok_or("--url is required")?;
    let authority = url
        .strip_prefix("http://")
        .ok_or("--url must be http://HOST:PORT")?
        .trim_end_matches('/');
    options.address = authority.parse()?;
    // A load generator aimed at someone else's server is an attack: loopback only.
    if !options.address.ip().is_loopback() {
        return Err("--url must be on this machine (127.0.0.1)".into());
    }
    options.token = token.ok_or("--token is required")?;
    if !(1..=FIELDS.len()).contains(&options.clients) {
        return Err(format!("--clients must be 1 to {}", FIELDS.len()).into());
    }
    if !(1..=MAX_SECONDS).contains(&options.seconds) {
        return Err(format!("--seconds must be 1 to {MAX_SECONDS}").into());
    }
    Ok(options)
}

/// One connection to the API, as a client keeps it.
struct Connection {
    address: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// An answer: its HTTP code and body, or `None` if the connection failed.
struct Answer {
    http: Option<u16>,
    body: Value,
}

impl Answer {
    fn status(&self) -> &str {
        match self.http {
            Some(_) => self.body["status"].as_str().unwrap_or("(no status)"),
            None => "(connection failed)",
        }
    }

    fn succeeded(&self) -> bool {
        self.status() == "action-successful"
    }

    /// Whether the request may have been written although it was not acknowledged.
    fn uncertain(&self) -> bool {
        self.http.is_none_or(|code| code >= 500)
    }
}

impl Connection {
    fn new(address: SocketAddr) -> Connection {
        Connection {
            address,
            sender: None,
        }
    }

    async fn post(&mut self, path: &str, token: &str, body: String) -> Answer {
        match self.try_post(path, token, body).await {
            Ok(answer) => answer,
            Err(error) => {
                self.sender = None;
                Answer {
                    http: None,
                    body: Value::from(error.to_string()),
                }
            }
        }
    }

    async fn try_post(
        &mut self,
        path: &str,
        token: &str,
        body: String,
    ) -> Result<Answer, BoxError> {
        if self.sender.is_none() {
            let stream = TcpStream::connect(self.address).await?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().ok_or("no connection")?;
        sender.ready().await?;
        let request = hyper::Request::post(path)
            .header("host", self.address.to_string())
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::from(body)))?;
        let response = sender.send_request(request).await?;
        let http = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok(Answer {
            http: Some(http),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }
}

/// An employee the clients write to, and the address it holds as last seen.
struct Record {
    id: i64,
    email: Mutex<String>,
}

impl Record {
    fn email(&self) -> String {
        self.email.lock().map(|e| e.clone()).unwrap_or_default()
    }

    fn saw(&self, email: &str) {
        if let Ok(mut last) = self.email.lock() {
            email.clone_into(&mut last);
        }
    }
}

async fn create_employee(options: &Options, n: usize) -> Result<Arc<Record>, BoxError> {
    let email = unique_email(&format!("load{n}"));
    let params = json!({
        "email": email, "first_name": "Load", "last_name": "Test",
        "password": PASSWORD, "phone": "+1 555 010 9000",
    });
    let body = STANDARD.encode(params.to_string());
    let mut connection = Connection::new(options.address);
    let answer = connection
        .post("/api/v1/photographers/create", &options.token, body)
        .await;
    let id = answer.body["data"]["id"]
        .as_i64()
        .ok_or_else(|| format!("creating an employee failed: {}", answer.body))?;
    Ok(Arc::new(Record {
        id,
        email: Mutex::new(email),
    }))
}

/// Sign-ins timed per kind of failure, after a few to warm up.
const TIMED_SIGN_INS: usize = 90;
const WARM_UP_SIGN_INS: usize = 5;

async fn sign_in_timing(options: &Options) -> Result<(), BoxError> {
    let existing = create_employee(options, 0).await?.email();
    // One unknown address throughout, as the existing one: both keep a failure counter.
    let stranger = unique_email("nobody");
    let mut connection = Connection::new(options.address);
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..WARM_UP_SIGN_INS + TIMED_SIGN_INS {
        // Alternate which goes first, so that neither always follows the other.
        let order = if round % 2 == 0 {
            [(true, &existing), (false, &stranger)]
        } else {
            [(false, &stranger), (true, &existing)]
        };
        for (has_account, email) in order {
            let credentials = json!({ "email": email, "password": "wrong-Guess-42-river" });
            let body = STANDARD.encode(credentials.to_string());
            let sent = Instant::now();
            let answer = connection
                .post("/api/v1/sessions/create", &options.token, body)
                .await;
            let took = sent.elapsed();
            if answer.status() != "invalid-param" {
                return Err(format!("a wrong password answered {}", answer.body).into());
            }
            if round >= WARM_UP_SIGN_INS {
                if has_account {
                    known.push(took)
                } else {
                    unknown.push(took)
                }
            }
        }
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64() * 1000.0
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    println!(
        "sign-in with a wrong password, median of {TIMED_SIGN_INS}: existing address {known:.1} ms, unknown address {unknown:.1} ms, ratio {:.3}",
        known / unknown
    );
    Ok(())
}

fn unique_email(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{name}.{nanos}@example.com")
}

/// What one client did.
struct Outcome {
    client: usize,
    latencies: Vec<Duration>,
    statuses: BTreeMap<String, usize>,
    /// Answers with an HTTP code of 500 or more, or none at all.
    server_errors: usize,
    /// The value of the client's field that it wrote last and saw acknowledged.
    acknowledged: Option<String>,
    /// Values written after that whose answers do not say whether they were applied.
    uncertain: Vec<String>,
}

async fn work(
    options: Arc<Options>,
    client: usize,
    record: Arc<Record>,
    deadline: Instant,
) -> Result<Outcome, BoxError> {
    let mut connection = Connection::new(options.address);
    let mut outcome = Outcome {
        client,
        latencies: Vec::new(),
        statuses: BTreeMap::new(),
        server_errors: 0,
        acknowledged: None,
        uncertain: Vec::new(),
    };
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let value = field_value(client, round);
        let mut change = json!({ "id": record.id, "email": record.email() });
        set_field(&mut change, FIELDS[client], &value);
        if round.is_multiple_of(4) {
            change["email"] = Value::from(unique_email(&format!("load{client}x{round}")));
        }
        let sent = Instant::now();
        let answer = connection
            .post(
                "/api/v1/employees/update",
                &options.token,
                change.to_string(),
            )
            .await;
        outcome.latencies.push(sent.elapsed());
        *outcome
            .statuses
            .entry(answer.status().to_owned())
            .or_default() += 1;
        if answer.uncertain() {
            outcome.server_errors += 1;
        }
        if answer.succeeded() {
            if let Some(email) = change["email"].as_str() {
                record.saw(email);
            }
            outcome.acknowledged = Some(value);
            outcome.uncertain.clear();
        } else if answer.uncertain() {
            outcome.uncertain.push(value);
        }
    }
    Ok(outcome)
}

fn field_value(client: usize, round: u64) -> String {
    if FIELDS[client] == "phone" {
        format!("+1 555 {:07}", round % 10_000_000)
    } else {
        format!("client {client} write {round}")
    }
}

fn set_field(change: &mut Value, field: &str, value: &str) {
    match field.split_once('.') {
        Some((hash, name)) => change[hash] = json!({ name: value }),
        None => change[field] = Value::from(value),
    }
}

fn get_field<'a>(record: &'a Value, field: &str) -> &'a Value {
    match field.split_once('.') {
        Some((hash, name)) => &record[hash][name],
        None => &record[field],
    }
}

/// Reads every record back (an update that changes nothing but, perhaps, the address)
/// and counts the clients whose last acknowledged value is not the one stored.
async fn lost_writes(
    options: &Options,
    records: &[Arc<Record>],
    outcomes: &[Outcome],
) -> Result<usize, BoxError> {
    let mut connection = Connection::new(options.address);
    let mut lost = 0;
    for outcome in outcomes {
        let record = &records[outcome.client];
        let read = json!({ "id": record.id, "email": record.email(), "view": "internalapps_view" });
        let answer = connection
            .post("/api/v1/employees/update", &options.token, read.to_string())
            .await;
        if !answer.succeeded() {
            return Err(format!("reading employee {} failed: {}", record.id, answer.body).into());
        }
        let stored = get_field(&answer.body["data"], FIELDS[outcome.client]).as_str();
        let expected = outcome.acknowledged.as_deref();
        let explained = stored == expected
            || outcome
                .uncertain
                .iter()
                .any(|value| Some(value.as_str()) == stored);
        if !explained && expected.is_some() {
            eprintln!(
                "client {}: wrote {expected:?} last, {} holds {stored:?}",
                outcome.client, FIELDS[outcome.client]
            );
            lost += 1;
        }
    }
    Ok(lost)
}

fn report(options: &Options, outcomes: &[Outcome], elapsed: Duration, lost: usize) {
    let mut latencies: Vec<Duration> = outcomes
        .iter()
        .flat_map(|o| o.latencies.iter().copied())
        .collect();
    latencies.sort();
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    for outcome in outcomes {
        for (status, count) in &outcome.statuses {
            *statuses.entry(status.as_str()).or_default() += count;
        }
    }
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let server_errors: usize = outcomes.iter().map(|o| o.server_errors).sum();
    let statuses: Vec<String> = statuses
        .iter()
        .map(|(status, count)| format!("{status} {count}"))
        .collect();
    println!(
        "{:<12} {:<10} clients {:>2}  requests {:>5}  {:>6.1}/s  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  5xx {:>3}  lost writes {}  [{}]",
        options.scenario,
        options.label,
        options.clients,
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        server_errors,
        lost,
        statuses.join(", ")
    );
}
