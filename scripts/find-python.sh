#!/usr/bin/env bash
# Print the path of a Python interpreter of the requested version family, or explain what to install.
#   scripts/find-python.sh 3.10     → exactly 3.10.x (the Rasa environment)
#   scripts/find-python.sh 3.11+    → 3.11 or newer (the application environment)
# Looks on PATH, then in pyenv, then through `uv python find`.
set -euo pipefail
want="${1:?usage: find-python.sh 3.10|3.11+}"

real() {  # real PYTHON → the interpreter's own path (not a pyenv shim)
    "$1" -c 'import sys; print(sys.executable)'
}

matches() {  # matches PYTHON → exit 0 when it runs and is of the wanted version
    local v
    v=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || return 1
    case "$want" in
        *+) [ "$(printf '%s\n%s\n' "${want%+}" "$v" | sort -V | head -n1)" = "${want%+}" ] ;;
        *) [ "$v" = "$want" ] ;;
    esac
}

candidates=()
case "$want" in
    *+) for minor in 13 12 11; do candidates+=("python3.$minor"); done; candidates+=(python3) ;;
    *) candidates+=("python$want") ;;
esac

for c in "${candidates[@]}"; do
    if p=$(command -v "$c" 2>/dev/null) && matches "$p"; then real "$p"; exit 0; fi
done

if command -v pyenv >/dev/null 2>&1; then
    family="${want%+}"
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -rV); do
        p="$(pyenv root)/versions/$v/bin/python${v%.*}"
        if [ -x "$p" ] && matches "$p"; then real "$p"; exit 0; fi
    done
fi

if command -v uv >/dev/null 2>&1; then
    if p=$(uv python find "${want%+}" 2>/dev/null) && matches "$p"; then real "$p"; exit 0; fi
fi

case "$want" in
    3.10)
        cat >&2 <<MSG
error: Python 3.10 was not found (needed for .venv-rasa: rasa 3.6.21 supports Python 3.8–3.10 only).
Install one of:
  pyenv install 3.10          (then re-run make; pyenv versions need not be global)
  uv python install 3.10
  apt-get install python3.10 python3.10-venv   (where your distribution ships it)
MSG
        ;;
    *)
        cat >&2 <<MSG
error: Python ${want%+} or newer was not found (needed for .venv, the application).
Install it with pyenv (pyenv install 3.11), uv (uv python install 3.11) or your package manager.
MSG
        ;;
esac
exit 1
