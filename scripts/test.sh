#!/usr/bin/env bash
# The whole test suite: the template's linters, formatting and lints, then every unit and
# integration test, the integration tests against a fresh local stack (moto's DynamoDB
# and SES, with DynamoDB's transaction conflicts; the tests that claim to survive faults
# turn on throttling, server errors and lost answers for tables of their own) started
# here and stopped on exit, then the schema fuzzer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export STACK_DIR="$root/.local/test"
scripts/stack.sh down
trap 'scripts/stack.sh down' EXIT
eval "$(scripts/stack.sh up)"

tools=$(scripts/tools.sh)
echo "== cfn-lint template.yaml"
"$tools/cfn-lint" template.yaml
echo "== sam validate --lint"
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 "$tools/sam" validate --lint --template template.yaml

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
log="$STACK_DIR/cargo-test.log"
cargo test --workspace --locked 2>&1 | tee "$log"

echo "== schemathesis: fuzzing the local API from openapi.yaml"
scripts/fuzz.sh

# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
