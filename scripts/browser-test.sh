#!/usr/bin/env bash
# Drives the local sign-in page and the passkey routes in headless Chromium with its
# WebAuthn virtual authenticator (tests/browser), against the local API on a fresh
# install of the stack the environment names (scripts/test.sh starts it). The page is
# opened at http://localhost:PORT, the relying party's origin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/local.sh
state=${STACK_DIR:-$root/.local/stack}

CHROMIUM=$(scripts/browser-tools.sh)
cargo build --quiet --locked -p planoauth-admin -p local-api
export ONBOARDING_SENDER=no-reply@planoauth.local SIGN_IN_URL=http://localhost/sign-in
export PASSWORD_RESET_URL=http://localhost/reset-password
port=$(free_port)
install_local target/debug/planoauth-admin "planoauth-browser-$$-" "http://localhost:$port" "$state/browser-bootstrap.json"

trap 'kill "${LOCAL_API_PID:-}" 2>/dev/null || true' EXIT
LOCAL_PAGE_APPLICATION_TOKEN=$PLANOAUTH_TOKEN start_local_api "$port" "$state/browser-api.log"

cd tests/browser
CHROMIUM=$CHROMIUM PAGE_PORT=$port APPLICATION_TOKEN=$PLANOAUTH_TOKEN \
    node --test --test-reporter=spec --test-concurrency=1 "$@"
