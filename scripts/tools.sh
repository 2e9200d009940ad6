#!/usr/bin/env bash
# Installs the pinned checking tools (cfn-lint, the SAM CLI, schemathesis) into
# .venv-tools, once per change of scripts/requirements-tools.txt, and prints its bin/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-tools"
requirements="$root/scripts/requirements-tools.txt"
if ! { [ -x "$venv/bin/cfn-lint" ] && cmp -s "$requirements" "$venv/.requirements"; }; then
    echo "tools: installing cfn-lint, SAM CLI and schemathesis into .venv-tools" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.requirements"
fi
echo "$venv/bin"
