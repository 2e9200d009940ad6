#!/usr/bin/env bash
# Builds every function for Lambda (arm64, provided.al2023) in one release build of the
# workspace, with cargo-lambda and Zig from PyPI (pinned), and reports the artefacts'
# sizes, raw and zipped. The bootstraps land in target/lambda/<function>/bootstrap.
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

functions=()
for main in functions/*/src/main.rs; do
    functions+=("$(basename "$(dirname "$(dirname "$main")")")")
done
packages=()
for function in "${functions[@]}"; do packages+=(--package "$function"); done
cargo lambda build --release --arm64 --locked "${packages[@]}"

echo
mkdir -p .local
python3 scripts/artefacts.py "${functions[@]}" | tee .local/build-report.txt
python3 scripts/report.py build .local/build-report.txt
