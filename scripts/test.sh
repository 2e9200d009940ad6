#!/usr/bin/env bash
# The whole test suite: the template's linters, formatting and lints, then every unit and
# integration test, the integration tests against a fresh local stack (moto's DynamoDB
# and SES, with DynamoDB's transaction conflicts; the tests that claim to survive faults
# turn on throttling, server errors and lost answers for tables of their own) started
# here and stopped on exit, then the schema fuzzer, then the sign-in page and passkeys in
# headless Chromium.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/local.sh

export STACK_DIR="$root/.local/test"
scripts/stack.sh down
trap 'scripts/stack.sh down' EXIT
eval "$(scripts/stack.sh up)"

tools=$(scripts/tools.sh)
echo "== cfn-lint template.yaml"
"$tools/cfn-lint" template.yaml
echo "== sam validate --lint"
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 "$tools/sam" validate --lint --template template.yaml

echo "== the breached passwords file: what the pinned list builds, byte for byte"
python3 scripts/breached_passwords.py --check

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The sample events are replayed through the functions' own binaries under the Lambda
# Runtime Interface Emulator, and held to the shape SAM generates (tests/tests/events.rs).
export SAM_CLI="$tools/sam" AWS_LAMBDA_RIE
AWS_LAMBDA_RIE=$(lambda_emulator "$tools")
echo "== cargo build (the functions' binaries, which the events run through)"
cargo build --workspace --bins --locked
echo "== cargo test"
log="$STACK_DIR/cargo-test.log"
cargo test --workspace --locked 2>&1 | tee "$log"

echo "== sam local invoke"
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    # A Docker engine is already running here (this script never starts one): the
    # documented `sam local invoke` path, on the one function that needs no stack.
    (
        export SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_STS="$AWS_ENDPOINT_URL"
        ensure_venv "$root/.venv-build" "$root/scripts/requirements-build.txt"
        PATH="$root/.venv-build/bin:$PATH" "$tools/sam" build --template template.yaml RouteFallbackFunction
        answer=$("$tools/sam" local invoke RouteFallbackFunction --event events/route-fallback.json)
        echo "$answer"
        grep -q route-non-existent <<<"$answer"
    )
else
    echo "no Docker engine is running: sam local invoke not tried; the events' replay through"
    echo "the Lambda Runtime Interface Emulator (tests/tests/events.rs) stands for it"
fi

echo "== schemathesis: fuzzing the local API from openapi.yaml"
scripts/fuzz.sh

echo "== browser: the sign-in page and passkeys in headless Chromium"
browser_log="$STACK_DIR/browser-test.log"
scripts/browser-test.sh 2>&1 | tee "$browser_log"

# One closing line for the whole run, summed over every test binary and the browser's
# tests; a part that ran no test fails the run.
awk '/^test result:/ { passed += $4; failed += $6 }
     /^ℹ pass / { browser = $3; passed += $3 }
     /^ℹ fail / { failed += $3 }
     END {
         printf "%d passed, %d failed\n", passed, failed
         if (passed == browser || browser == 0) { print "a part of the suite ran no test"; exit 1 }
     }' "$log" "$browser_log"
