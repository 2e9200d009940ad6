#!/usr/bin/env bash
# The local AWS stack: a pinned moto server serving DynamoDB, SES and KMS over HTTP,
# through scripts/moto_server.py, which adds what DynamoDB does under contention and faults
# (scripts/local_dynamodb.py): transaction conflicts are on by default, as they are in
# production; throttling, server errors, latency and stalls when asked for.
#
#   scripts/stack.sh up     install (once) and start it, then print the environment to use
#   scripts/stack.sh down   stop it
#   scripts/stack.sh env    print the environment of the running stack
#
# MOTO_PORT picks the port (default: a free one). STACK_HOST the address it listens on
# (default 127.0.0.1; `STACK_HOST=0.0.0.0 make run` lets a container on Docker's bridge
# reach it, for `make invoke INVOKE_WITH=sam` on Linux: opt-in). STACK_DIR is where the stack keeps its
# pid, log and stack.env (default .local/stack), so `make run` and `make test` each have
# their own stack. LOCAL_DYNAMODB_* set what DynamoDB's emulation does (see docs/development.md):
# LOCAL_DYNAMODB_TRANSACTION_MS (default 10; 0 turns conflicts off),
# LOCAL_DYNAMODB_THROTTLE_RATE, LOCAL_DYNAMODB_ERROR_RATE, LOCAL_DYNAMODB_LATENCY_MS,
# LOCAL_DYNAMODB_STALL_RATE and LOCAL_DYNAMODB_STALL_MS.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
state="${STACK_DIR:-$root/.local/stack}"
requirements="$root/scripts/requirements-stack.txt"
mkdir -p "$state"
source "$root/scripts/local.sh"

running() {
    [ -f "$state/moto.pid" ] && kill -0 "$(cat "$state/moto.pid")" 2>/dev/null
}

write_env() {
    local port=$1
    cat >"$state/stack.env" <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
export MOTO_PORT=$port
EOF
}

up() {
    ensure_venv "$venv" "$requirements"
    if running; then
        cat "$state/stack.env"
        return
    fi
    local port=${MOTO_PORT:-$(free_port)}
    export LOCAL_DYNAMODB_TRANSACTION_MS=${LOCAL_DYNAMODB_TRANSACTION_MS:-10}
    nohup "$venv/bin/python" "$root/scripts/moto_server.py" "${STACK_HOST:-127.0.0.1}" "$port" \
        >"$state/moto.log" 2>&1 &
    echo $! >"$state/moto.pid"
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
            write_env "$port"
            echo "stack: moto serving DynamoDB, SES and KMS on 127.0.0.1:$port" >&2
            cat "$state/stack.env"
            return
        fi
        if ! running; then break; fi
        sleep 0.1
    done
    echo "stack: moto did not start; see $state/moto.log" >&2
    tail -n 20 "$state/moto.log" >&2 || true
    exit 1
}

down() {
    if running; then
        kill "$(cat "$state/moto.pid")" 2>/dev/null || true
    fi
    rm -f "$state/moto.pid" "$state/stack.env"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    env) running && cat "$state/stack.env" ;;
    *)
        echo "usage: $0 up|down|env" >&2
        exit 2
        ;;
esac
