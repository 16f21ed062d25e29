#!/usr/bin/env bash
# Install Debian's PostgreSQL server when its binaries are missing (CI; needs root and apt-get).
# The test set-up (tests/support/postgres.py) starts a throw-away server from these binaries.
set -euo pipefail
if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL is not installed and cannot be installed here (needs root + apt-get); its tests will be skipped" >&2
    exit 0
fi
echo "[postgres] installing Debian's postgresql" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends postgresql >&2
