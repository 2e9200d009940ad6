//! CloudWatch metrics in the Embedded Metric Format: a log line that is a JSON object
//! with an `_aws` member becomes metrics when CloudWatch Logs ingests it, with no API call
//! and no agent (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
//!
//! Code anywhere counts what happens ([`count`]); each answered request, and each run of
//! a scheduled function, writes one record with its counts since the last one ([`emit`]).
//! A Lambda process serves one event at a time, so the counts belong to that event.
//! `template.yaml`'s alarms watch these names; a test keeps the two in agreement.
//! Records go to standard output inside Lambda, nowhere elsewhere unless [`capture`]d.

use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

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
    /// Sign-ins and password checks refused as `too-many-attempts`.
    SignInThrottled,
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
}

impl Metric {
    pub const ALL: [Metric; 10] = [
        Metric::SignInFailures,
        Metric::SignInThrottled,
        Metric::EmailsSent,
        Metric::EmailsFailed,
        Metric::DynamoDbConflicts,
        Metric::DynamoDbRetries,
        Metric::DynamoDbThrottles,
        Metric::CleanupDeletions,
        Metric::CleanupRuns,
        Metric::EmailRetryRuns,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::SignInFailures => "SignInFailures",
            Metric::SignInThrottled => "SignInThrottled",
            Metric::EmailsSent => "EmailsSent",
            Metric::EmailsFailed => "EmailsFailed",
            Metric::DynamoDbConflicts => "DynamoDbConflicts",
            Metric::DynamoDbRetries => "DynamoDbRetries",
            Metric::DynamoDbThrottles => "DynamoDbThrottles",
            Metric::CleanupDeletions => "CleanupDeletions",
            Metric::CleanupRuns => "CleanupRuns",
            Metric::EmailRetryRuns => "EmailRetryRuns",
        }
    }
}

static COUNTS: [AtomicU64; Metric::ALL.len()] = [const { AtomicU64::new(0) }; Metric::ALL.len()];

pub fn count(metric: Metric) {
    count_n(metric, 1);
}

pub fn count_n(metric: Metric, n: u64) {
    COUNTS[metric as usize].fetch_add(n, Ordering::Relaxed);
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

/// Writes one record: the request's route and status when there is one, and every count
/// since the last record (which it resets).
pub fn emit(request: Option<(&str, &str)>) {
    let counts: Vec<(Metric, u64)> = Metric::ALL
        .iter()
        .map(|metric| (*metric, COUNTS[*metric as usize].swap(0, Ordering::Relaxed)))
        .filter(|(_, n)| *n > 0)
        .collect();
    if request.is_none() && counts.is_empty() {
        return;
    }
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
fn record(request: Option<(&str, &str)>, counts: &[(Metric, u64)], timestamp: u64) -> Value {
    let mut directives = Vec::new();
    let mut values = Map::new();
    if let Some((route, status)) = request {
        directives.push(json!({
            "Namespace": NAMESPACE,
            "Dimensions": [["Route", "Status"], ["Status"]],
            "Metrics": [{ "Name": REQUESTS, "Unit": "Count" }],
        }));
        values.insert("Route".into(), route.into());
        values.insert("Status".into(), status.into());
        values.insert(REQUESTS.into(), 1.into());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_declares_each_value_it_carries() {
        let record = record(
            Some(("/api/v1/sessions/create", "invalid-credentials")),
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
