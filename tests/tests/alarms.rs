//! `template.yaml`'s alarms against what the functions emit: every alarm on the
//! `PlanoAuth` namespace watches a metric some function writes (`shared/src/metrics.rs`)
//! under dimensions it writes it with, so that no alarm waits on a name nothing emits;
//! every alarm notifies the alerts topic; every function has an Errors and a Throttles
//! alarm; docs/operating.md describes every other alarm. Reads files only: no stack needed.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth::Status;
use planoauth::metrics::{Metric, NAMESPACE, REQUESTS};
use planoauth::routes;
use planoauth_tests::repository_root;
use serde_norway::{Mapping, Value};
use std::collections::BTreeSet;

/// The SNS topic every alarm notifies.
const TOPIC: &str = "AlertsTopic";

/// The template's resources, CloudFormation's tags (`!Ref`, `!Sub`, ...) kept as
/// tagged values.
fn resources() -> Mapping {
    let text = std::fs::read_to_string(repository_root().join("template.yaml")).unwrap();
    let document: Value = serde_norway::from_str(&text).unwrap();
    document["Resources"].as_mapping().unwrap().clone()
}

/// Every resource of a type: its logical id and properties.
fn of_type(resources: &Mapping, kind: &str) -> Vec<(String, Value)> {
    resources
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(id, resource)| {
            let properties = resource.get("Properties").cloned().unwrap_or_default();
            (id.as_str().unwrap().to_owned(), properties)
        })
        .collect()
}

fn alarms(resources: &Mapping) -> Vec<(String, Value)> {
    let alarms = of_type(resources, "AWS::CloudWatch::Alarm");
    assert!(!alarms.is_empty(), "template.yaml has no alarms");
    alarms
}

/// The logical id an `!Ref` names; `None` for anything else.
fn reference(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        _ => None,
    }
}

/// A metric an alarm watches.
struct Watched<'a> {
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    /// Each dimension's name and value (a plain string, or a tagged value such as `!Ref`).
    dimensions: Vec<(&'a str, &'a Value)>,
}

/// The metric of a single-metric alarm, or every metric of a metric-math alarm.
fn watched(properties: &Value) -> Vec<Watched<'_>> {
    let mut metrics: Vec<&Value> = Vec::new();
    if properties.get("MetricName").is_some() {
        metrics.push(properties);
    }
    for query in properties["Metrics"].as_sequence().into_iter().flatten() {
        if let Some(metric) = query.get("MetricStat").and_then(|stat| stat.get("Metric")) {
            metrics.push(metric);
        }
    }
    metrics
        .into_iter()
        .map(|metric| Watched {
            namespace: metric["Namespace"].as_str(),
            name: metric["MetricName"].as_str(),
            dimensions: metric["Dimensions"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|dimension| (dimension["Name"].as_str().unwrap(), &dimension["Value"]))
                .collect(),
        })
        .collect()
}

#[test]
fn every_planoauth_alarm_watches_a_metric_a_function_emits() {
    let emitted: BTreeSet<&str> = Metric::ALL
        .iter()
        .map(|metric| metric.name())
        .chain([REQUESTS])
        .collect();
    // The dimension sets `Requests` is written with, and its `Route` values: the
    // routes' paths, and the fallback's `$default`.
    let request_dimensions = [
        BTreeSet::from(["Status"]),
        BTreeSet::from(["Route", "Status"]),
    ];
    let request_routes: BTreeSet<&str> = routes::ALL
        .iter()
        .map(|route| route.path)
        .chain(["$default"])
        .collect();

    let mut checked = 0;
    for (alarm, properties) in alarms(&resources()) {
        for metric in watched(&properties) {
            if metric.namespace != Some(NAMESPACE) {
                continue;
            }
            checked += 1;
            let name = metric.name.unwrap_or_default();
            assert!(
                emitted.contains(name),
                "{alarm} watches {NAMESPACE} {name:?}, which no function emits"
            );
            let dimensions: BTreeSet<&str> = metric.dimensions.iter().map(|(d, _)| *d).collect();
            if name != REQUESTS {
                assert!(
                    dimensions.is_empty(),
                    "{alarm}: {name} is emitted without dimensions, not with {dimensions:?}"
                );
                continue;
            }
            assert!(
                request_dimensions.contains(&dimensions),
                "{alarm}: {REQUESTS} is emitted with the dimensions {request_dimensions:?}, \
                 not {dimensions:?}"
            );
            for (dimension, value) in metric.dimensions {
                let Value::String(value) = value else {
                    panic!("{alarm}: the {dimension} dimension is not a plain value: {value:?}");
                };
                match dimension {
                    "Status" => assert!(
                        Status::from_slug(value).is_some(),
                        "{alarm}: {value:?} is no status of the catalogue"
                    ),
                    _ => assert!(
                        request_routes.contains(value.as_str()),
                        "{alarm}: {value:?} is no route"
                    ),
                }
            }
        }
    }
    assert!(checked > 0, "no alarm watches the {NAMESPACE} namespace");
}

#[test]
fn every_alarm_notifies_the_alerts_topic() {
    let resources = resources();
    let topics = of_type(&resources, "AWS::SNS::Topic");
    assert!(
        topics.iter().any(|(id, _)| id == TOPIC),
        "template.yaml has no {TOPIC}"
    );
    for (alarm, properties) in alarms(&resources) {
        let actions = properties["AlarmActions"].as_sequence();
        assert!(
            actions
                .into_iter()
                .flatten()
                .any(|action| reference(action) == Some(TOPIC)),
            "{alarm}'s AlarmActions do not include !Ref {TOPIC}"
        );
    }
}

#[test]
fn every_function_has_an_errors_and_a_throttles_alarm() {
    let resources = resources();
    let alarms = alarms(&resources);
    let functions = of_type(&resources, "AWS::Serverless::Function");
    assert!(!functions.is_empty());
    for (function, _) in &functions {
        for metric_name in ["Errors", "Throttles"] {
            let watched_by = alarms.iter().find(|(_, properties)| {
                watched(properties).iter().any(|metric| {
                    metric.namespace == Some("AWS/Lambda")
                        && metric.name == Some(metric_name)
                        && metric.dimensions.iter().any(|(dimension, value)| {
                            *dimension == "FunctionName"
                                && reference(value) == Some(function.as_str())
                        })
                })
            });
            assert!(
                watched_by.is_some(),
                "no alarm watches {function}'s {metric_name} (AWS/Lambda, FunctionName: !Ref {function})"
            );
        }
    }
}

#[test]
fn the_operating_guide_describes_every_alarm_but_the_per_function_ones() {
    let readme = std::fs::read_to_string(repository_root().join("docs/operating.md")).unwrap();
    let resources = resources();
    let functions: Vec<String> = of_type(&resources, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, _)| id.trim_end_matches("Function").to_owned())
        .collect();
    for (alarm, _) in alarms(&resources) {
        let per_function = functions.iter().any(|function| {
            alarm == format!("{function}ErrorsAlarm")
                || alarm == format!("{function}ThrottlesAlarm")
        });
        assert!(
            per_function || readme.contains(&format!("`{alarm}`")),
            "docs/operating.md does not describe {alarm}"
        );
    }
}
