//! The endpoint-partitions layer: the file of each partition, read by the SDK in place of
//! the table it embeds (`SMITHY_CLIENT_SDK_CUSTOM_PARTITION`), resolves every region of
//! that partition as the SDK's own table does, for DynamoDB and SES, with and without
//! FIPS and dual-stack.
//!
//! The SDK reads the variable once per process, so each resolution runs in a child
//! process: this test binary again, running only the ignored probe below.

use planoauth::aws::PARTITIONS_FILE;
use planoauth_tests::repository_root;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const PROBE: &str = "resolve_endpoints_for_the_partitions_test";
const PROBE_REGIONS: &str = "PARTITIONS_TEST_REGIONS";

/// What `scripts/partitions.py` says, with `argument`.
fn partitions_script(argument: &str) -> String {
    let output = Command::new("python3")
        .arg(repository_root().join("scripts/partitions.py"))
        .arg(argument)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "partitions.py {argument}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// Each region's endpoints ("region fips dual-stack: dynamodb ses"), resolved in a child
/// process whose SDK reads its partitions from `file` (its own table when `None`).
fn resolve_in_child(regions: &[String], file: Option<&Path>) -> BTreeMap<String, String> {
    let mut child = Command::new(std::env::current_exe().expect("the test binary"));
    child
        .args(["--ignored", "--exact", PROBE, "--nocapture"])
        .env(PROBE_REGIONS, regions.join(","))
        .env_remove(PARTITIONS_FILE);
    if let Some(file) = file {
        child.env(PARTITIONS_FILE, file);
    }
    let output = child.output().expect("the probe runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the probe failed: {stdout}");
    let answers: BTreeMap<String, String> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("endpoint "))
        .filter_map(|line| line.split_once(": "))
        .map(|(case, endpoints)| (case.to_owned(), endpoints.to_owned()))
        .collect();
    assert_eq!(answers.len(), regions.len() * 4, "{stdout}");
    answers
}

#[test]
fn the_layer_is_the_locked_sdks_table() {
    partitions_script("--check");
}

#[test]
fn each_partitions_file_resolves_its_regions_as_the_sdks_table_does() {
    let regions: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&partitions_script("--regions")).expect("JSON");
    assert!(
        regions.len() >= 8 && regions["aws"].len() >= 30,
        "{regions:?}"
    );
    let everywhere: Vec<String> = regions.values().flatten().cloned().collect();
    let by_the_sdk = resolve_in_child(&everywhere, None);
    let layer = repository_root().join("layers/endpoint-partitions/partitions");
    for (partition, regions) in &regions {
        let file = layer.join(format!("{partition}.json"));
        let from_file = resolve_in_child(regions, Some(&file));
        for (case, endpoints) in from_file {
            assert_eq!(endpoints, by_the_sdk[&case], "{partition}: {case}");
        }
    }
}

#[test]
fn the_sdk_reads_the_partitions_file_it_is_given() {
    let aws = repository_root().join("layers/endpoint-partitions/partitions/aws.json");
    let altered = std::fs::read_to_string(aws).expect("aws.json").replace(
        "\"dnsSuffix\":\"amazonaws.com\"",
        "\"dnsSuffix\":\"aws.test\"",
    );
    let file = std::env::temp_dir().join(format!("partitions-{}.json", std::process::id()));
    std::fs::write(&file, altered).expect("a temporary file");
    let answers = resolve_in_child(&["eu-west-1".to_owned()], Some(&file));
    std::fs::remove_file(&file).ok();
    assert_eq!(
        answers["eu-west-1 fips=false dual-stack=false"],
        "https://dynamodb.eu-west-1.aws.test https://email.eu-west-1.aws.test"
    );
}

#[test]
fn every_function_reads_its_stacks_partition_from_the_layer() {
    let template: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(repository_root().join("template.yaml")).expect("template"),
    )
    .expect("YAML");
    let globals = &template["Globals"]["Function"];
    let file = format!("{:?}", globals["Environment"]["Variables"][PARTITIONS_FILE]);
    assert!(
        file.contains("!Sub") && file.contains("\"/opt/partitions/${AWS::Partition}.json\""),
        "{PARTITIONS_FILE} is {file}"
    );
    let layers = format!("{:?}", globals["Layers"]);
    assert!(layers.contains("EndpointPartitionsLayer"), "{layers}");
    let layer = &template["Resources"]["EndpointPartitionsLayer"]["Properties"];
    let content = layer["ContentUri"].as_str().expect("ContentUri");
    assert!(
        repository_root()
            .join(content)
            .join("partitions/aws.json")
            .is_file()
    );
}

/// The endpoint (or the error) the default resolver of an SDK crate gives.
macro_rules! resolve {
    ($sdk:ident, $region:expr, $fips:expr, $dual_stack:expr) => {{
        use $sdk::config::endpoint::{DefaultResolver, Params, ResolveEndpoint as _};
        let params = Params::builder()
            .region($region)
            .use_fips($fips)
            .use_dual_stack($dual_stack)
            .build()
            .expect("parameters");
        DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .map_or_else(|e| format!("error({e})"), |e| e.url().to_owned())
    }};
}

/// Prints the endpoints of the regions the parent names (run only as its child).
#[tokio::test]
#[ignore = "a child process of the tests above"]
async fn resolve_endpoints_for_the_partitions_test() {
    let regions = std::env::var(PROBE_REGIONS).expect("run by the tests above");
    for region in regions.split(',') {
        for fips in [false, true] {
            for dual_stack in [false, true] {
                let dynamodb = resolve!(aws_sdk_dynamodb, region, fips, dual_stack);
                let ses = resolve!(aws_sdk_ses, region, fips, dual_stack);
                println!("endpoint {region} fips={fips} dual-stack={dual_stack}: {dynamodb} {ses}");
            }
        }
    }
}
