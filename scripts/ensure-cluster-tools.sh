#!/usr/bin/env bash
# Install Debian's Redis and HAProxy when missing (CI; needs root and apt-get), like ensure-postgres.sh.
# The cluster profile's tests use them (tests/scripts/test_cluster_profile.py validates the HAProxy
# configuration; skipped with the reason where they are missing).
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "${missing[*]} not installed and cannot be installed here (needs root + apt-get); their tests will be skipped" >&2
    exit 0
fi
echo "[cluster] installing Debian's ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
