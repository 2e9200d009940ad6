# What the local scripts share (stack.sh, tools.sh, build.sh, run-local.sh, test.sh,
# fuzz.sh, invoke.sh, bench.sh, load.sh, soak.sh): source it.

# ensure_venv DIR REQUIREMENTS
# A virtualenv at DIR holding exactly the pinned REQUIREMENTS: installed when missing and
# again whenever the file changes, never otherwise.
ensure_venv() {
    local venv=$1 requirements=$2
    if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/.requirements"; then
        return
    fi
    echo "installing $(basename "$requirements") into $(basename "$venv")" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.requirements"
}

# A free TCP port on the loopback interface.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# install_local ADMIN PREFIX API_URL OUT
# A fresh install on the running stack: the tables of template.yaml named PREFIX…, their
# names exported as the functions read them (SESSIONS_TABLE, …), the welcome-email sender
# ($ONBOARDING_SENDER) verified, a sample photographer to try updates on (employee 2),
# and the bootstrap data written to OUT. Sets
# PLANOAUTH_TOKEN to the planoauth application token.
install_local() {
    local admin=$1 prefix=$2 api_url=$3 out=$4
    eval "$("$admin" create-tables --prefix "$prefix" |
        python3 -c 'import json, sys; [print(f"export {k}={v}") for k, v in json.load(sys.stdin).items()]')"
    "$admin" verify-sender --address "$ONBOARDING_SENDER" >/dev/null
    "$admin" bootstrap --api-url "$api_url" --sample-photographer photographer@planoauth.local \
        --out "$out" >/dev/null
    PLANOAUTH_TOKEN=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["applications"]["planoauth"])' "$out")
}

# start_local_api PORT LOG
# Starts target/debug/local-api on PORT in the background, logging to LOG, and returns once
# it answers; sets LOCAL_API_PID. Fails, showing the log, if it exits or never answers
# (a missing setting stops it at start). Passkeys are bound to the relying party id
# localhost unless PASSKEY_RP_ID says otherwise, the page's origin being
# http://localhost:PORT (a page at 127.0.0.1 cannot use the id localhost).
start_local_api() {
    local port=$1 log=$2
    PASSKEY_RP_ID=${PASSKEY_RP_ID:-localhost} \
        PASSKEY_ORIGINS=${PASSKEY_ORIGINS:-http://localhost:$port} \
        PORT=$port RUST_LOG=${RUST_LOG:-warn} target/debug/local-api >"$log" 2>&1 &
    LOCAL_API_PID=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
        kill -0 "$LOCAL_API_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the local API did not start on port $port:" >&2
    cat "$log" >&2
    return 1
}

# lambda_emulator TOOLS_BIN
# The path of AWS's Lambda Runtime Interface Emulator for this machine's architecture, as
# the pinned SAM CLI in TOOLS_BIN's environment ships it (scripts/tools.sh installs it).
lambda_emulator() {
    "$1/python" -c 'import os, platform, samcli
arch = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
print(os.path.join(os.path.dirname(samcli.__file__), "local", "rapid", "aws-lambda-rie-" + arch))'
}
