#!/usr/bin/env bash
# Install Debian's Chromium (and CJK fonts for readable screenshots) when missing, for the console's browser
# tests (CI; needs root and apt-get). Playwright drives this browser; it never downloads one of its own.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "Chromium is not installed and cannot be installed here (needs root + apt-get); the browser tests will be skipped" >&2
    exit 0
fi
echo "[chromium] installing Debian's chromium and fonts-noto-cjk" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >&2
