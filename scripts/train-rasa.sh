#!/usr/bin/env bash
# Train the Rasa model served by `make run`: scripts/train-rasa.sh models/rasa/minwei.tar.gz
# Uses config.yml (NLU pipeline), domain.yml, and the training data under data/.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-models/rasa/minwei.tar.gz}"
mkdir -p "$(dirname "$out")"
data=(data/nlu)
for f in data/rules.yml data/stories.yml; do [ -f "$f" ] && data+=("$f"); done
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
.venv-rasa/bin/rasa train --config config.yml --domain domain.yml --data "${data[@]}" \
    --out "$(dirname "$out")" --fixed-model-name "$(basename "$out" .tar.gz)" --quiet
