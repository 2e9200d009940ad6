#!/usr/bin/env bash
# Serves the whole PlanoAuth API on http://127.0.0.1:$PORT (default 3000) against a fresh
# local stack, bootstrapped with the three applications, their roles, reference data and
# a first admin; what a client needs is written to .local/bootstrap.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/local.sh
port=${PORT:-3000}
# Welcome emails come from this (verified) sender and link to this sign-in page.
export ONBOARDING_SENDER=${ONBOARDING_SENDER:-no-reply@planoauth.local}
export SIGN_IN_URL=${SIGN_IN_URL:-http://127.0.0.1:$port/sign-in}
export PASSWORD_RESET_URL=${PASSWORD_RESET_URL:-http://127.0.0.1:$port/reset-password}
# Passkeys are bound to a relying party id the page's host must match: the page is at
# http://localhost:$port (a page at 127.0.0.1 cannot use the id localhost).
export PASSKEY_RP_ID=${PASSKEY_RP_ID:-localhost}
export PASSKEY_ORIGINS=${PASSKEY_ORIGINS:-http://localhost:$port}

export STACK_DIR="$root/.local/run"
# A fixed port, so that events/env.json can point `sam local invoke` at this stack.
export MOTO_PORT=${MOTO_PORT:-4566}
scripts/stack.sh down
trap 'scripts/stack.sh down' EXIT
eval "$(scripts/stack.sh up)"

cargo build --locked -p planoauth-admin -p local-api
install_local target/debug/planoauth-admin planoauth-local- "http://127.0.0.1:$port" .local/bootstrap.json
echo "Bootstrapped; what a client needs is in .local/bootstrap.json:"
cat .local/bootstrap.json
token=$PLANOAUTH_TOKEN
cat <<MSG

Try it:
  curl -s -X POST http://127.0.0.1:$port/api/v1/employees/update \\
    -H 'Content-Type: application/json' \\
    -H 'Authorization: Bearer $token' \\
    -d '{"id": 2, "email": "photographer@planoauth.local", "skills": ["portraits"], "view": "internalapps_view"}'

Or open http://localhost:$port/ in a browser: a sign-in page (the admin's address and
password are above) where passkeys can be added, listed, removed and signed in with.

MSG
LOCAL_PAGE_APPLICATION_TOKEN=$token PORT=$port target/debug/local-api
