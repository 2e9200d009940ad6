#!/usr/bin/env bash
# `make load`: concurrent clients against the local API for a fixed time, on a fresh local
# stack, with the local DynamoDB behaving as the emulator does and then as production
# does under faults (transaction conflicts, 5 % throttling, 3 % server errors). Prints
# requests/s, p50/p99, the count of each status and of 5xx, and checks that no
# acknowledged write was lost. CLIENTS (1-9, default 8) and DURATION (seconds, default 12) per run.
# Debug build: the emulator's few milliseconds a call, not the functions, set the pace.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/local.sh
export STACK_DIR="$root/.local/load"
scripts/stack.sh down
trap 'kill "${LOCAL_API_PID:-}" 2>/dev/null || true; scripts/stack.sh down' EXIT
eval "$(scripts/stack.sh up)"

cargo build --quiet --locked -p planoauth-admin -p local-api -p planoauth-load
export ONBOARDING_SENDER=no-reply@planoauth.local SIGN_IN_URL=http://127.0.0.1/sign-in
export PASSWORD_RESET_URL=http://127.0.0.1/reset-password
prefix=planoauth-load-
port=$(free_port)
install_local target/debug/planoauth-admin "$prefix" "http://127.0.0.1:$port" "$STACK_DIR/bootstrap.json"
start_local_api "$port" "$STACK_DIR/api.log"

faults() {
    curl -fsS -o /dev/null -X POST "$AWS_ENDPOINT_URL/_local/faults" \
        -H 'Content-Type: application/json' -d "{\"tables\": \"$prefix\", $1}"
}

{
    for setting in "off" "on"; do
        if [ "$setting" = off ]; then
            faults '"transaction_ms": 0, "throttle_rate": 0, "error_rate": 0'
        else
            faults '"transaction_ms": 10, "throttle_rate": 0.05, "error_rate": 0.03'
        fi
        for scenario in one-record own-records; do
            target/debug/planoauth-load --url "http://127.0.0.1:$port" --token "$PLANOAUTH_TOKEN" \
                --scenario "$scenario" --clients "${CLIENTS:-8}" --seconds "${DURATION:-12}" \
                --label "faults $setting"
        done
    done
    echo
    echo "what the local DynamoDB injected: $(curl -fsS "$AWS_ENDPOINT_URL/_local/faults?tables=$prefix" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["injected"])')"
} | tee "$STACK_DIR/report.txt"
python3 scripts/report.py load "$STACK_DIR/report.txt"
