#!/usr/bin/env bash
# `make soak`: whether the local stack stays fast and small as it fills (scripts/soak.py):
# sign-in and employees/update p50 with the tables their transactions touch at 1,000
# items and at 100,000, then load until MINUTES (default 30) have passed, with the stack's
# resident memory. On a fresh stack of its own; not part of `make test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/local.sh
export STACK_DIR="$root/.local/soak"
scripts/stack.sh down
trap 'kill "${LOCAL_API_PID:-}" 2>/dev/null || true; scripts/stack.sh down' EXIT
eval "$(scripts/stack.sh up)"

cargo build --quiet --locked -p planoauth-admin -p local-api
export ONBOARDING_SENDER=no-reply@planoauth.local SIGN_IN_URL=http://127.0.0.1/sign-in
export PASSWORD_RESET_URL=http://127.0.0.1/reset-password
prefix=planoauth-soak-
port=$(free_port)
install_local target/debug/planoauth-admin "$prefix" "http://127.0.0.1:$port" "$STACK_DIR/bootstrap.json"
start_local_api "$port" "$STACK_DIR/api.log"
"$root/.venv/bin/python" scripts/soak.py "http://127.0.0.1:$port" "$PLANOAUTH_TOKEN" "$prefix" \
    "$(cat "$STACK_DIR/moto.pid")" "${MINUTES:-30}" | tee "$STACK_DIR/report.txt"
python3 scripts/report.py soak "$STACK_DIR/report.txt"
