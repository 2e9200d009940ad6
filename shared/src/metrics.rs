//! CloudWatch metrics in the Embedded Metric Format: a log line that is a JSON object
//! with an `_aws` member becomes metrics when CloudWatch Logs ingests it, with no API call
//! and no agent (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
//!
//! Code anywhere counts what happens ([`count`]); each answered request, and each run of
//! a scheduled function, writes one record with its counts since the last one ([`emit`]).
//! A Lambda process serves one event at a time, so the counts belong to that event.
//! `template.yaml`'s alarms watch these names; a test keeps the two in agreement.
//! Records go to standard output inside Lambda, nowhere elsewhere unless [`capture`]d.
//!
//! A request's record also carries where its time went ([`RequestTimer`]): `DurationMs`,
//! `DynamoDbMs` (time with a DynamoDB request on the wire) and `OwnMs` (the rest: our
//! code, the SDK's serialisation and signing, and any email's send, which SES answers).
//! They are properties, not declared metrics, so that they cost nothing until queried
//! (CloudWatch Logs Insights can take their percentiles by `Route`); declared per route
//! they would be a custom metric each.

use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const NAMESPACE: &str = "PlanoAuth";
/// Every answered request, with `Route` and `Status` (a catalogue slug) dimensions, and
/// by `Status` alone (what the alarms on `application-crash` watch).
pub const REQUESTS: &str = "Requests";

/// What is counted, each a metric of its own without dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Wrong passwords: sign-ins to an unknown address or with a wrong password, and
    /// failed proofs of a signed-in user's password.
    SignInFailures,
    /// Attempts refused as `too-many-attempts`: sign-ins, password checks, reset requests
    /// and client registrations.
    AttemptsThrottled,
    EmailsSent,
    /// Every email SES refused, first sends and retries alike.
    EmailsFailed,
    /// Writes DynamoDB refused because a transaction held their items.
    DynamoDbConflicts,
    /// Attempts the SDK and the stores made again (throttling, errors, conflicts).
    DynamoDbRetries,
    /// Requests DynamoDB refused as throttled.
    DynamoDbThrottles,
    /// Expired sessions the cleanup deleted.
    CleanupDeletions,
    /// Runs of the session cleanup that finished (what the "cleanup stopped" alarm counts).
    CleanupRuns,
    /// Runs of the email retry schedule that finished.
    EmailRetryRuns,
    /// Passkey sign-ins refused because the authenticator's counter went backwards.
    PasskeyCounterRegressions,
    /// TOTP codes refused because they had been used already.
    TotpCodeReuses,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::SignInFailures,
        Metric::AttemptsThrottled,
        Metric::EmailsSent,
        Metric::EmailsFailed,
        Metric::DynamoDbConflicts,
        Metric::DynamoDbRetries,
        Metric::DynamoDbThrottles,
        Metric::CleanupDeletions,
        Metric::CleanupRuns,
        Metric::EmailRetryRuns,
        Metric::PasskeyCounterRegressions,
        Metric::TotpCodeReuses,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::SignInFailures => "SignInFailures",
            Metric::AttemptsThrottled => "AttemptsThrottled",
            Metric::EmailsSent => "EmailsSent",
            Metric::EmailsFailed => "EmailsFailed",
            Metric::DynamoDbConflicts => "DynamoDbConflicts",
            Metric::DynamoDbRetries => "DynamoDbRetries",
            Metric::DynamoDbThrottles => "DynamoDbThrottles",
            Metric::CleanupDeletions => "CleanupDeletions",
            Metric::CleanupRuns => "CleanupRuns",
            Metric::EmailRetryRuns => "EmailRetryRuns",
            Metric::PasskeyCounterRegressions => "PasskeyCounterRegressions",
            Metric::TotpCodeReuses => "TotpCodeReuses",
        }
    }
}

static COUNTS: [AtomicU64; Metric::ALL.len()] = [const { AtomicU64::new(0) }; Metric::ALL.len()];

/// Counts what the DynamoDB toolkit reports (`dynamo::observe` names this).
pub fn dynamo_event(event: crate::dynamo::Event) {
    count(match event {
        crate::dynamo::Event::Conflict => Metric::DynamoDbConflicts,
        crate::dynamo::Event::Retry => Metric::DynamoDbRetries,
    });
}

pub fn count(metric: Metric) {
    count_n(metric, 1);
}

pub fn count_n(metric: Metric, n: u64) {
    COUNTS[metric as usize].fetch_add(n, Ordering::Relaxed);
}

/// Wall time with at least one DynamoDB request on the wire. Requests in flight together
/// (a batch of deletes) count once, so that the waiting is never more than the time.
struct Waiting {
    in_flight: u32,
    since: Option<Instant>,
    total: Duration,
}

static WAITING: Mutex<Waiting> = Mutex::new(Waiting {
    in_flight: 0,
    since: None,
    total: Duration::ZERO,
});

/// A DynamoDB request on the wire, from its sending until this is dropped: when its
/// answer comes back, or with the operation when a timeout abandons it mid-flight.
#[derive(Debug)]
pub struct DynamoDbWait(());

impl DynamoDbWait {
    pub fn start() -> Self {
        if let Ok(mut waiting) = WAITING.lock() {
            if waiting.in_flight == 0 {
                waiting.since = Some(Instant::now());
            }
            waiting.in_flight += 1;
        }
        DynamoDbWait(())
    }
}

impl Drop for DynamoDbWait {
    fn drop(&mut self) {
        if let Ok(mut waiting) = WAITING.lock() {
            waiting.in_flight = waiting.in_flight.saturating_sub(1);
            if waiting.in_flight == 0
                && let Some(since) = waiting.since.take()
            {
                waiting.total += since.elapsed();
            }
        }
    }
}

/// All the waiting so far, an interval still open included.
fn waited() -> Duration {
    WAITING.lock().map_or(Duration::ZERO, |waiting| {
        waiting.total
            + waiting
                .since
                .map_or(Duration::ZERO, |since| since.elapsed())
    })
}

/// Times one request: its duration, and how much of it was spent waiting on DynamoDB.
/// The waiting is the process's, which is the request's in Lambda (one event at a time);
/// in a server answering requests together the split means nothing.
pub struct RequestTimer {
    started: Instant,
    waited_before: Duration,
}

impl RequestTimer {
    pub fn start() -> Self {
        RequestTimer {
            started: Instant::now(),
            waited_before: waited(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// (the request's duration, the part of it spent waiting on DynamoDB).
    fn split(&self) -> (Duration, Duration) {
        let duration = self.started.elapsed();
        let waited = waited().saturating_sub(self.waited_before).min(duration);
        (duration, waited)
    }
}

/// Where records go.
enum Sink {
    Stdout,
    Nowhere,
    Memory(Mutex<Vec<Value>>),
}

static SINK: OnceLock<Sink> = OnceLock::new();

fn sink() -> &'static Sink {
    SINK.get_or_init(|| {
        if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            Sink::Stdout
        } else {
            Sink::Nowhere
        }
    })
}

/// Keeps this process's records in memory from now on (for tests), unless a sink was
/// chosen already. Returns whether records are kept.
pub fn capture() -> bool {
    matches!(
        SINK.get_or_init(|| Sink::Memory(Mutex::default())),
        Sink::Memory(_)
    )
}

/// The records kept since [`capture`].
pub fn captured() -> Vec<Value> {
    match sink() {
        Sink::Memory(records) => records.lock().map(|r| r.clone()).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A request's part of a record.
pub struct RequestRecord<'a> {
    pub route: &'a str,
    /// The answer's catalogue slug.
    pub status: &'a str,
    pub timer: &'a RequestTimer,
}

/// Writes one record: the request's route, status and timing when there is one, and every
/// count since the last record (which it resets).
pub fn emit(request: Option<RequestRecord>) {
    let counts: Vec<(Metric, u64)> = Metric::ALL
        .iter()
        .map(|metric| (*metric, COUNTS[*metric as usize].swap(0, Ordering::Relaxed)))
        .filter(|(_, n)| *n > 0)
        .collect();
    if request.is_none() && counts.is_empty() {
        return;
    }
    let request = request.map(|r| {
        let (duration, waited) = r.timer.split();
        (r.route, r.status, duration, waited)
    });
    let record = record(request, &counts, now_ms());
    match sink() {
        Sink::Stdout => println!("{record}"),
        Sink::Nowhere => {}
        Sink::Memory(records) => {
            if let Ok(mut records) = records.lock() {
                records.push(record);
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One EMF record: a directive per dimension set, the values at the top level.
fn record(
    request: Option<(&str, &str, Duration, Duration)>,
    counts: &[(Metric, u64)],
    timestamp: u64,
) -> Value {
    let mut directives = Vec::new();
    let mut values = Map::new();
    if let Some((route, status, duration, waited)) = request {
        directives.push(json!({
            "Namespace": NAMESPACE,
            "Dimensions": [["Route", "Status"], ["Status"]],
            "Metrics": [{ "Name": REQUESTS, "Unit": "Count" }],
        }));
        values.insert("Route".into(), route.into());
        values.insert("Status".into(), status.into());
        values.insert(REQUESTS.into(), 1.into());
        values.insert("DurationMs".into(), milliseconds(duration));
        values.insert("DynamoDbMs".into(), milliseconds(waited));
        values.insert(
            "OwnMs".into(),
            milliseconds(duration.saturating_sub(waited)),
        );
    }
    if !counts.is_empty() {
        directives.push(json!({
            "Namespace": NAMESPACE,
            "Dimensions": [[]],
            "Metrics": counts
                .iter()
                .map(|(metric, _)| json!({ "Name": metric.name(), "Unit": "Count" }))
                .collect::<Vec<_>>(),
        }));
        for (metric, n) in counts {
            values.insert(metric.name().into(), (*n).into());
        }
    }
    values.insert(
        "_aws".into(),
        json!({ "Timestamp": timestamp, "CloudWatchMetrics": directives }),
    );
    Value::Object(values)
}

/// Milliseconds to the microsecond.
fn milliseconds(duration: Duration) -> Value {
    json!((duration.as_micros() as f64) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_declares_each_value_it_carries() {
        let record = record(
            Some((
                "/api/v1/sessions/create",
                "invalid-credentials",
                Duration::from_micros(12_345),
                Duration::from_micros(10_000),
            )),
            &[(Metric::SignInFailures, 1), (Metric::DynamoDbRetries, 2)],
            1_764_000_000_000,
        );
        assert_eq!(record["_aws"]["Timestamp"], 1_764_000_000_000u64);
        let directives = record["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 2);
        for directive in directives {
            assert_eq!(directive["Namespace"], NAMESPACE);
            for dimensions in directive["Dimensions"].as_array().unwrap() {
                for dimension in dimensions.as_array().unwrap() {
                    assert!(record[dimension.as_str().unwrap()].is_string());
                }
            }
            for metric in directive["Metrics"].as_array().unwrap() {
                assert!(record[metric["Name"].as_str().unwrap()].is_u64());
            }
        }
        assert_eq!(record["Status"], "invalid-credentials");
        assert_eq!(record["SignInFailures"], 1);
        assert_eq!(record["DynamoDbRetries"], 2);
        assert_eq!(record["DurationMs"], 12.345);
        assert_eq!(record["DynamoDbMs"], 10.0);
        assert_eq!(record["OwnMs"], 2.345);
    }

    #[test]
    fn requests_on_the_wire_together_wait_once() {
        // The only test of this module that touches the process's waiting.
        let timer = RequestTimer::start();
        let first = DynamoDbWait::start();
        let second = DynamoDbWait::start();
        std::thread::sleep(Duration::from_millis(20));
        drop(first);
        std::thread::sleep(Duration::from_millis(20));
        drop(second);
        std::thread::sleep(Duration::from_millis(20));
        let (duration, waited) = timer.split();
        assert!(waited >= Duration::from_millis(40), "{waited:?}");
        assert!(
            duration >= waited + Duration::from_millis(20),
            "{duration:?} {waited:?}"
        );
        // Nothing is left open.
        assert_eq!(WAITING.lock().unwrap().in_flight, 0);
    }

    #[test]
    fn a_scheduled_run_without_a_request_has_no_request_dimensions() {
        let record = record(None, &[(Metric::CleanupRuns, 1)], 0);
        assert!(record.get("Route").is_none() && record.get("Requests").is_none());
        assert_eq!(
            record["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
    }

    #[test]
    fn metric_indexes_follow_the_list() {
        for (index, metric) in Metric::ALL.iter().enumerate() {
            assert_eq!(*metric as usize, index);
        }
    }
}
