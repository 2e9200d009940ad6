#!/usr/bin/env bash
# Installs the pinned checking tools (cfn-lint, the SAM CLI, schemathesis) into
# .venv-tools, once per change of scripts/requirements-tools.txt, and prints its bin/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-tools"
requirements="$root/scripts/requirements-tools.txt"
source "$root/scripts/local.sh"
ensure_venv "$venv" "$requirements"
echo "$venv/bin"
