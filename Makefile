# 民微 MinWei — the two commands are `make run` and `make test`; everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SUFFIXES:

VENV      := .venv
RASA_VENV := .venv-rasa
PY        := $(VENV)/bin/python
RASA_PY   := $(RASA_VENV)/bin/python
APP_STAMP := $(VENV)/.minwei-installed
RASA_STAMP:= $(RASA_VENV)/.minwei-installed

# Rasa must never phone home; jieba and TensorFlow keep quiet.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL   := 2
export PYTHONUTF8             := 1

RASA_MODEL := models/rasa/minwei.tar.gz
NLU_MODEL  := models/nlu/model.json
NLU_INPUTS := $(wildcard data/nlu/*.yml) data/taxonomy.yml data/units.yml $(wildcard data/divisions/*.tsv*) $(wildcard data/jieba/*.txt) $(wildcard data/lexicon/*) $(wildcard nlu/*.py)
RASA_INPUTS:= config.yml domain.yml endpoints.yml $(NLU_INPUTS) $(wildcard data/*.yml)

.PHONY: help setup run run-cluster test test-fast lint format train classify chat bench clean evaluate bench-nlu

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

setup: $(APP_STAMP) $(RASA_STAMP)  ## create .venv (Python ≥3.11) and .venv-rasa (Python 3.10); no-op when current

$(APP_STAMP): requirements/app.lock scripts/setup-venv.sh scripts/find-python.sh
	@scripts/setup-venv.sh app
	@touch $@

$(RASA_STAMP): requirements/rasa.lock scripts/setup-venv.sh scripts/find-python.sh
	@scripts/setup-venv.sh rasa
	@touch $@

train: $(NLU_MODEL) $(RASA_MODEL)  ## train the NLU model and the Rasa model when missing or stale

$(NLU_MODEL): $(RASA_STAMP) $(NLU_INPUTS)
	@echo "[train] NLU model → $(dir $@)" >&2
	@$(RASA_PY) -m nlu train --out $(dir $@) >&2

$(RASA_MODEL): $(RASA_STAMP) $(RASA_INPUTS)
	@echo "[train] Rasa model → $@" >&2
	@scripts/train-rasa.sh $@ >&2

run: setup train  ## set up, train if needed, then run Rasa, actions, console (and the bot when TELEGRAM_BOT_TOKEN is set); PROFILE=cluster: see run-cluster
	@PROFILE=$(PROFILE) $(PY) scripts/supervise.py

run-cluster: setup train  ## the scale-out profile on one machine: PostgreSQL, Redis, 2 Rasa, 2 action servers, 2 bot workers (webhook), 2 consoles behind HAProxy (scripts/cluster.py)
	@PROFILE=cluster $(PY) scripts/supervise.py

test: setup train  ## set up, train the models when stale, run the whole test suite (PostgreSQL cases when installed; e2e with the trained models)
	@scripts/test.sh

lint: $(APP_STAMP)  ## ruff (lint + format check) and mypy
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

format: $(APP_STAMP)  ## apply ruff's formatting and safe fixes
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

classify: $(RASA_STAMP)  ## JSON lines {"id","text"} on stdin → classifications on stdout (see README)
	@$(MAKE) --no-print-directory -s $(NLU_MODEL) 1>&2
	@exec $(RASA_PY) -m nlu classify $(ARGS)

evaluate: $(RASA_STAMP)  ## NLU metrics on the held-out split of data/nlu (ARGS=--compare-baseline adds Rasa's default pipeline, ~1 h)
	@mkdir -p reports
	@$(RASA_PY) -m nlu export --split test --out reports/nlu-test.jsonl
	@$(RASA_PY) -m nlu evaluate --data reports/nlu-test.jsonl $(ARGS)

bench-nlu: $(RASA_STAMP)  ## NLU benchmarks: speed, 5-fold CV and tipdm2020c, each next to Rasa's default pipeline (hours)
	@$(RASA_PY) -m benchmarks.bench_nlu_speed
	@$(RASA_PY) -m benchmarks.bench_nlu_cv
	@$(RASA_PY) -m benchmarks.bench_nlu_tipdm

chat: setup train  ## talk to the bot in the terminal as a resident (no token needed; starts Rasa and actions if not running)
	@$(PY) -m bot.chat

clean:  ## remove trained models and local state (keeps the virtual environments)
	rm -rf models/nlu models/rasa var/*.sqlite3 .pytest_cache
