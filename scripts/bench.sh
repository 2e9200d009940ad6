#!/usr/bin/env bash
# `make bench`: cold init, first-call time and peak memory of the functions, each
# against a bare lambda_http function built the same way (release, this machine's
# architecture), on a fresh local stack. RUNS (default 15) runs each; medians reported.
# Then the time of a failed sign-in for an address with an account and for one without,
# through the local API (debug build, argon2 optimised as in every build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/local.sh
export STACK_DIR="$root/.local/bench"
scripts/stack.sh down
trap 'scripts/stack.sh down' EXIT
eval "$(scripts/stack.sh up)"

functions=()
for main in functions/*/src/main.rs; do
    functions+=("$(basename "$(dirname "$(dirname "$main")")")")
done
packages=(--package bench-hello --package planoauth-admin)
for function in "${functions[@]}"; do packages+=(--package "$function"); done
cargo build --release --locked "${packages[@]}"

export ONBOARDING_SENDER=no-reply@planoauth.local SIGN_IN_URL=http://127.0.0.1/sign-in
export PASSWORD_RESET_URL=http://127.0.0.1/reset-password
install_local target/release/planoauth-admin planoauth-bench- http://127.0.0.1 "$STACK_DIR/bootstrap.json"
token=$PLANOAUTH_TOKEN

cases=("bench-hello=events/route-fallback.json")
for function in "${functions[@]}"; do
    event="events/$function.json"
    [ -f "$event" ] || event=events/employees-update-missing-email.json
    sed "s/PLANOAUTH_APPLICATION_TOKEN/$token/g" "$event" >"$STACK_DIR/$function.event.json"
    cases+=("$function=$STACK_DIR/$function.event.json")
done
python3 scripts/bench.py target/release "${RUNS:-15}" "${cases[@]}"
echo
echo "release binaries (x86_64, stripped):"
for binary in bench-hello "${functions[@]}"; do
    printf '  %-24s %6.2f MB\n' "$binary" "$(echo "$(stat -c %s "target/release/$binary") / 1000000" | bc -l)"
done

echo
cargo build --quiet --locked -p local-api -p planoauth-load
port=$(free_port)
trap 'kill "${LOCAL_API_PID:-}" 2>/dev/null || true; scripts/stack.sh down' EXIT
start_local_api "$port" "$STACK_DIR/api.log"
target/debug/planoauth-load --url "http://127.0.0.1:$port" --token "$token" --scenario sign-in-timing
