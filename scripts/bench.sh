#!/usr/bin/env bash
# `make bench`: every function's cold init, first call, warm latency (and the handler's
# own time above DynamoDB), peak memory after 1, 100 and WARM invocations in one process,
# DynamoDB request units and their price, and the arm64 artefact zipped when `make build`
# has run; against a bare lambda_http function and a naive one built the same way
# (release, this machine's architecture), on a fresh local stack. RUNS (default 21) cold
# starts each; WARM (default 1000) invocations in the warm process.
# The sign-in of an account with TOTP (to its challenge) is a case of its own; a second
# factor's success cannot be repeated (each code works once), so its warm figures are of
# its event's refusal.
# Then the time of a failed sign-in for an address with an account and for one without,
# through the local API (debug build, argon2 optimised as in every build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/local.sh
export STACK_DIR="$root/.local/bench"
scripts/stack.sh down
trap 'kill "${LOCAL_API_PID:-}" 2>/dev/null || true; scripts/stack.sh down' EXIT
eval "$(scripts/stack.sh up)"

# Every function of the workspace.
functions=()
for main in functions/*/src/main.rs; do
    functions+=("$(basename "$(dirname "$(dirname "$main")")")")
done
packages=(--package bench-hello --package planoauth-admin)
for function in "${functions[@]}"; do packages+=(--package "$function"); done
cargo build --release --locked "${packages[@]}"
# The naive reference on its own, so that the SDK's default features stay out of the
# functions' build.
cargo build --release --locked --manifest-path tools/bench-naive/Cargo.toml --target-dir target

export ONBOARDING_SENDER=no-reply@planoauth.local SIGN_IN_URL=http://127.0.0.1/sign-in
export PASSWORD_RESET_URL=http://127.0.0.1/reset-password
export PASSKEY_RP_ID=localhost PASSKEY_ORIGINS=http://localhost
install_local target/release/planoauth-admin planoauth-bench- http://127.0.0.1 "$STACK_DIR/bootstrap.json"
token=$PLANOAUTH_TOKEN
admin_email=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"]["email"])' "$STACK_DIR/bootstrap.json")
admin_password=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"]["password"])' "$STACK_DIR/bootstrap.json")

# A successful sign-in (argon2id on every call); each event that acts through a session
# gets one of its own (sessions-delete ends its session, users-password-update replaces
# its token). The admin first replaces the password the bootstrap chose, so that its
# sessions may do more than change it (the passkey routes answer a session that must
# change it at once). users-password-update runs with a wrong current password for an
# admin of its own: its failures count against that account's limit, not against the
# sign-ins of the `sessions-create sign-in` case.
# render_sensitive EVENT OUT KEY=VALUE...: EVENT with those parameters in its body.
render_sensitive() {
    python3 - "$@" <<'EOF'
import base64, json, sys
event = json.load(open(sys.argv[1]))
body = json.loads(base64.b64decode(event["body"]))
body.update(dict(pair.split("=", 1) for pair in sys.argv[3:]))
event["body"] = base64.b64encode(json.dumps(body).encode()).decode()
json.dump(event, open(sys.argv[2], "w"))
EOF
}
# sign_in_event OUT EMAIL PASSWORD
sign_in_event() {
    render_sensitive events/sessions-create-wrong-password.json "$1" "email=$2" "password=$3"
    sed -i "s/PLANOAUTH_APPLICATION_TOKEN/$token/g" "$1"
}
# new_session SIGN_IN_EVENT: the token of a new session.
new_session() {
    python3 scripts/bench.py --invoke target/release/sessions-create "$1" |
        python3 -c 'import json, sys; print(json.loads(json.load(sys.stdin)["body"])["session"]["token"])'
}
json_field() {
    python3 -c 'import json, sys; value = json.load(sys.stdin)
for key in sys.argv[1:]: value = value[key]
print(value)' "$@"
}
sign_in="$STACK_DIR/sign-in.event.json"
sign_in_event "$sign_in" "$admin_email" "$admin_password"
render_sensitive events/users-password-update.json "$STACK_DIR/password-update.event.json" \
    "current_password=$admin_password" "new_password=bench-Harbor-93-lantern"
admin_session=$(new_session "$sign_in")
sed -i "s/PLANOAUTH_SESSION_TOKEN/$admin_session/" "$STACK_DIR/password-update.event.json"
replaced=$(python3 scripts/bench.py --invoke target/release/users-password-update "$STACK_DIR/password-update.event.json")
grep -q action-successful <<<"$replaced" || { echo "the admin's password was not replaced: $replaced" >&2; exit 1; }
sign_in_event "$sign_in" "$admin_email" bench-Harbor-93-lantern
owner_email=password-owner@planoauth.local
owner_password=$(target/release/planoauth-admin create-admin --email "$owner_email" | json_field password)
sign_in_event "$STACK_DIR/owner-sign-in.event.json" "$owner_email" "$owner_password"

# An admin with TOTP on, turned on through the functions (a code computed from the
# secret, as an app would): its sign-in answers `second-factor-required` with a challenge.
# json_event EVENT OUT JSON: EVENT (a plain JSON one) with the body JSON.
json_event() {
    python3 - "$@" <<'EOF2'
import json, sys
event = json.load(open(sys.argv[1]))
event["body"] = sys.argv[3]
event["headers"]["content-length"] = str(len(sys.argv[3]))
json.dump(event, open(sys.argv[2], "w"))
EOF2
}
totp_email=totp-owner@planoauth.local
totp_password=$(target/release/planoauth-admin create-admin --email "$totp_email" | json_field password)
sign_in_event "$STACK_DIR/totp-sign-in.event.json" "$totp_email" "$totp_password"
render_sensitive events/users-password-update.json "$STACK_DIR/totp-password.event.json" \
    "current_password=$totp_password" "new_password=bench-Meadow-27-quiet"
totp_session=$(new_session "$STACK_DIR/totp-sign-in.event.json")
sed -i "s/PLANOAUTH_SESSION_TOKEN/$totp_session/" "$STACK_DIR/totp-password.event.json"
totp_session=$(python3 scripts/bench.py --invoke target/release/users-password-update "$STACK_DIR/totp-password.event.json" |
    python3 -c 'import json, sys; print(json.loads(json.load(sys.stdin)["body"])["session"]["token"])')
json_event events/users-totp-enroll.json "$STACK_DIR/totp-enroll.event.json" "{\"token\": \"$totp_session\"}"
enrolment=$(python3 scripts/bench.py --invoke target/release/users-totp-enroll "$STACK_DIR/totp-enroll.event.json" |
    python3 -c 'import json, sys; d = json.loads(json.load(sys.stdin)["body"])["data"]; print(d["ceremony"], d["secret"])')
read -r ceremony secret <<<"$enrolment"
code=$(python3 - "$secret" <<'EOF2'
import base64, hashlib, hmac, struct, sys, time
secret = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
mac = hmac.new(secret, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
offset = mac[-1] & 15
print(f"{(struct.unpack('>I', mac[offset:offset + 4])[0] & 0x7fffffff) % 1000000:06d}")
EOF2
)
json_event events/users-totp-confirm-unknown-ceremony.json "$STACK_DIR/totp-confirm.event.json" \
    "{\"token\": \"$totp_session\", \"ceremony\": \"$ceremony\", \"totp_code\": \"$code\"}"
confirmed=$(python3 scripts/bench.py --invoke target/release/users-totp-confirm "$STACK_DIR/totp-confirm.event.json")
grep -q action-successful <<<"$confirmed" || { echo "TOTP was not turned on: $confirmed" >&2; exit 1; }
sign_in_event "$STACK_DIR/totp-sign-in.event.json" "$totp_email" bench-Meadow-27-quiet

cases=("bench-hello=events/route-fallback.json" "bench-naive=events/route-fallback.json")
for function in "${functions[@]}"; do
    # The function's own event, or the first of its variants.
    event=events/$function.json
    if [ ! -f "$event" ]; then
        variants=(events/"$function"-*.json)
        event=${variants[0]}
        [ -f "$event" ] || event=events/employees-update-missing-email.json
    fi
    session=none
    if grep -q PLANOAUTH_SESSION_TOKEN "$event"; then
        if [ "$function" = users-password-update ]; then
            session=$(new_session "$STACK_DIR/owner-sign-in.event.json")
        else
            session=$(new_session "$sign_in")
        fi
    fi
    sed -e "s/PLANOAUTH_APPLICATION_TOKEN/$token/g" -e "s/PLANOAUTH_SESSION_TOKEN/$session/g" \
        "$event" >"$STACK_DIR/$function.event.json"
    cases+=("$function=$STACK_DIR/$function.event.json")
done
cases+=("sessions-create:sessions-create sign-in=$sign_in")
cases+=("sessions-create:sign-in, TOTP on=$STACK_DIR/totp-sign-in.event.json")
# The warm processes' warnings and errors, kept for a look after the run.
export BENCH_LOGS="$root/.local/bench-logs"
rm -rf "$BENCH_LOGS" && mkdir -p "$BENCH_LOGS"
# What it prints is also the current figures of docs/performance.md.
{
    python3 scripts/bench.py target/release "${RUNS:-21}" "${WARM:-1000}" "${cases[@]}"
    echo "(the warm processes' logs: .local/bench-logs/)"
    echo
    echo "release binaries (x86_64, stripped):"
    for binary in bench-hello bench-naive "${functions[@]}"; do
        printf '  %-24s %6.2f MB\n' "$binary" "$(echo "$(stat -c %s "target/release/$binary") / 1000000" | bc -l)"
    done

    echo
    cargo build --quiet --locked -p local-api -p planoauth-load
    port=$(free_port)
    start_local_api "$port" "$STACK_DIR/api.log"
    target/debug/planoauth-load --url "http://127.0.0.1:$port" --token "$token" --scenario sign-in-timing
    kill "$LOCAL_API_PID" 2>/dev/null || true
} | tee "$STACK_DIR/report.txt"
python3 scripts/report.py bench "$STACK_DIR/report.txt"
