#!/usr/bin/env bash
# `make invoke EVENT=events/<file>.json [FUNCTION=<binary>] [INVOKE_WITH=rie|sam]`: one
# function invoked with a sample event, against the stack `make run` is serving.
#
# rie (the default, no container): the function's own binary runs under AWS's Lambda
# Runtime Interface Emulator (shipped in the pinned SAM CLI), with the environment
# template.yaml gives the function; prints its answer and the emulator's REPORT line.
# sam: `sam local invoke` on the same rendered event and environment, in SAM's container,
# for a machine where a Docker engine is already running (this script never starts one).
#
# The event's placeholders are filled in from .local/bootstrap.json (the planoauth token;
# a photographer made for the event, signed in, where it needs a session or a password),
# in a copy under .local/invoke: events/ never holds a real token.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/local.sh

event=${EVENT:?"name the event: make invoke EVENT=events/<file>.json"}
with=${INVOKE_WITH:-rie}
state="$root/.local/run"
if [ ! -f "$state/stack.env" ] || [ ! -f .local/bootstrap.json ]; then
    echo "make invoke runs against the stack of \`make run\`: start it in another terminal first" >&2
    exit 1
fi
source "$state/stack.env"
port=$(python3 -c 'import json, urllib.parse; print(urllib.parse.urlparse(json.load(open(".local/bootstrap.json"))["api_url"]).port)')

tools=$(scripts/tools.sh)
# What `make run` gives the functions (scripts/run-local.sh).
parameters=(
    --parameter "OnboardingSender=${ONBOARDING_SENDER:-no-reply@planoauth.local}"
    --parameter "SignInUrl=${SIGN_IN_URL:-http://127.0.0.1:$port/sign-in}"
    --parameter "PasswordResetUrl=${PASSWORD_RESET_URL:-http://127.0.0.1:$port/reset-password}"
    --parameter "PasskeyRpId=${PASSKEY_RP_ID:-localhost}"
    --parameter "PasskeyOrigins=${PASSKEY_ORIGINS:-http://localhost:$port}"
)
function_args=()
[ -n "${FUNCTION:-}" ] && function_args=(--function "$FUNCTION")

# Every function's binary, debug as the tests build them: the event's, and those that
# make its user.
cargo build --quiet --locked --workspace --bins
emulator=$(lambda_emulator "$tools")

case "$with" in
    rie)
        target/debug/planoauth-invoke --event "$event" "${function_args[@]}" "${parameters[@]}" \
            --emulator "$emulator"
        ;;
    sam)
        if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
            echo "INVOKE_WITH=sam needs a Docker engine running; none is (INVOKE_WITH=rie needs none)" >&2
            exit 1
        fi
        out="$root/.local/invoke"
        # The stack as a container reaches it: Docker Desktop's name on macOS and Windows,
        # and on Linux the host's gateway (which `make run` listens on with
        # STACK_HOST=0.0.0.0, as a container on Docker's bridge cannot reach 127.0.0.1).
        logical_id=$(target/debug/planoauth-invoke --event "$event" "${function_args[@]}" "${parameters[@]}" \
            --emulator "$emulator" --for-sam "$out" --endpoint "http://host.docker.internal:${MOTO_PORT}")
        add_host=()
        [ "$(uname -s)" = Linux ] && add_host=(--add-host host.docker.internal:host-gateway)
        # Nothing reaches AWS: no telemetry, STS and the metadata service on the local stack.
        export SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_STS="$AWS_ENDPOINT_URL"
        # sam builds the function (arm64) with cargo-lambda and Zig, pinned in the build
        # environment, into .aws-sam/build, whose template `sam local invoke` then reads.
        ensure_venv "$root/.venv-build" "$root/scripts/requirements-build.txt"
        PATH="$root/.venv-build/bin:$PATH" "$tools/sam" build --template template.yaml "$logical_id"
        "$tools/sam" local invoke "$logical_id" \
            --event "$out/event.json" --env-vars "$out/env.json" "${add_host[@]}"
        ;;
    *)
        echo "INVOKE_WITH is rie or sam, not $with" >&2
        exit 2
        ;;
esac
