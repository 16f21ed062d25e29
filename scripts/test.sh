#!/usr/bin/env bash
# The test suite as `make test` runs it. In CI (CI set) PostgreSQL is installed from Debian's packages when
# missing, so the store tests run against SQLite and PostgreSQL; the tests start their own server. Debian's
# Chromium is installed too for the console's browser tests, and Redis and HAProxy for the cluster profile's
# (skipped with a reason where they are missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${CI:-}" ] || [ -n "${MINWEI_INSTALL_POSTGRES:-}" ]; then
    scripts/ensure-postgres.sh
    scripts/ensure-cluster-tools.sh
    scripts/ensure-chromium.sh
fi
exec .venv/bin/python -m pytest "$@"
