#!/usr/bin/env bash
# Fuzzes the local API from openapi.yaml with schemathesis: no server error, and every
# status code, content type and body as the document says. Runs against the stack that
# the environment names (scripts/test.sh starts it), on tables of its own.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/local.sh
tools=$(scripts/tools.sh)
state=${STACK_DIR:-$root/.local/stack}

cargo build --quiet --locked -p planoauth-admin -p local-api
export ONBOARDING_SENDER=no-reply@planoauth.local SIGN_IN_URL=http://127.0.0.1/sign-in
export PASSWORD_RESET_URL=http://127.0.0.1/reset-password
port=$(free_port)
install_local target/debug/planoauth-admin "planoauth-fuzz-$$-" "http://127.0.0.1:$port" "$state/fuzz-bootstrap.json"
token=$PLANOAUTH_TOKEN

trap 'kill "${LOCAL_API_PID:-}" 2>/dev/null || true' EXIT
start_local_api "$port" "$state/fuzz-api.log"

# A fixed seed keeps CI's run reproducible; change it to explore further.
"$tools/schemathesis" --config-file scripts/schemathesis.toml run openapi.yaml \
    --url "http://127.0.0.1:$port" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "${FUZZ_EXAMPLES:-25}" \
    --seed 20261122 \
    --workers 2 \
    --no-color
