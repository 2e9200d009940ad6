#!/usr/bin/env bash
# Builds every function for Lambda (arm64, provided.al2023) in one release build of the
# workspace, with cargo-lambda and Zig from PyPI (pinned), and reports the artefacts'
# sizes. The bootstraps land in target/lambda/<function>/bootstrap.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv-build"
requirements="$root/scripts/requirements-build.txt"
source scripts/local.sh
ensure_venv "$venv" "$requirements"
# cargo-lambda finds Zig through the Python first on PATH.
export PATH="$venv/bin:$PATH"
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true

packages=()
for main in functions/*/src/main.rs; do
    function=$(basename "$(dirname "$(dirname "$main")")")
    packages+=(--package "$function")
done
cargo lambda build --release --arm64 --locked "${packages[@]}"

echo
echo "artefact sizes (arm64, stripped):"
for main in functions/*/src/main.rs; do
    function=$(basename "$(dirname "$(dirname "$main")")")
    bytes=$(stat -c %s "target/lambda/$function/bootstrap")
    printf '  %-24s %6.2f MB\n' "$function" "$(echo "$bytes / 1000000" | bc -l)"
done
