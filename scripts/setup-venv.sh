#!/usr/bin/env bash
# Create or update one of the two virtual environments. Called by make (which decides when it is stale).
#   scripts/setup-venv.sh app    → .venv       (Python ≥ 3.11, the application and its dev tools)
#   scripts/setup-venv.sh rasa   → .venv-rasa  (Python 3.10, rasa 3.6.21)
# Installs exactly the versions in requirements/<name>.lock; the project itself is put on sys.path with
# a .pth file, so the venv never needs rebuilding when the code changes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
kind="${1:?usage: setup-venv.sh app|rasa}"

case "$kind" in
    app)  venv=.venv;      want=3.11+; lock=requirements/app.lock ;;
    rasa) venv=.venv-rasa; want=3.10;  lock=requirements/rasa.lock ;;
    *) echo "unknown environment: $kind" >&2; exit 2 ;;
esac

python=$(scripts/find-python.sh "$want")
if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "[$venv] broken interpreter; recreating" >&2
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "[$venv] creating with $python" >&2
    "$python" -m venv "$venv"
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
echo "[$venv] installing $lock" >&2
"$venv/bin/python" -m pip install --quiet --requirement "$lock"

site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$root" > "$site/minwei.pth"
"$venv/bin/python" -m pip check >&2 || { echo "[$venv] pip check failed" >&2; exit 1; }
echo "[$venv] ready" >&2
