#!/usr/bin/env bash
# Deploys PlanoAuth with AWS SAM: `sam build` (each function through cargo-lambda, arm64)
# then `sam deploy --guided`, which asks for the stack name, region and parameters the
# first time and saves them to samconfig.toml. Needs AWS credentials in the environment.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools=$(scripts/tools.sh)
scripts/build.sh >/dev/null   # installs cargo-lambda and Zig, and warms the build
export PATH="$root/.venv-build/bin:$PATH" SAM_CLI_TELEMETRY=0
"$tools/sam" build --beta-features --template-file template.yaml
"$tools/sam" deploy --guided
