#!/usr/bin/env bash
# Installs what the browser tests drive: Debian's Chromium (the version pinned below, or
# the archive's successor once Debian has replaced it) and npm's playwright-core (pinned
# by tests/browser/package-lock.json), each only when missing or older, and prints the
# Chromium binary's path. Node.js 20 or newer must be there already (playwright-core
# needs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chromium_version=148.0.7778.167-1~deb12u1

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
    echo "the browser tests need Node.js 20 or newer with npm (found: $(node --version 2>/dev/null || echo none))" >&2
    exit 1
fi

installed=$(dpkg-query -W -f '${Version}' chromium 2>/dev/null || true)
if [ -z "$installed" ] || dpkg --compare-versions "$installed" lt "$chromium_version"; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    apt_install() { "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@" >&2; }
    echo "installing chromium $chromium_version" >&2
    if ! apt_install "chromium=$chromium_version"; then
        "${sudo[@]}" apt-get update -q >&2
        # Debian keeps only a release's newest security build: when the pinned one has
        # been replaced, take its successor rather than fail, and say so.
        apt_install "chromium=$chromium_version" || {
            echo "chromium $chromium_version is no longer in the archive; installing its successor" >&2
            apt_install chromium
        }
    fi
fi

browser="$root/tests/browser"
if ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.installed-lock.json"; then
    echo "installing tests/browser's npm packages" >&2
    (cd "$browser" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    cp "$browser/package-lock.json" "$browser/node_modules/.installed-lock.json"
fi
command -v chromium || { echo "chromium is not on PATH after its install" >&2; exit 1; }
