# The project's verbs. `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(PY) -m rasa
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false

# Rasa 3.6 needs Python 3.10: use $PYTHON if given, else the first 3.10 we can find.
PYTHON310 := $(shell for p in "$$PYTHON" "$$(command -v pyenv >/dev/null && pyenv root)"/versions/3.10*/bin/python \
	$$HOME/.pyenv/versions/3.10*/bin/python $$(command -v python3.10) /usr/bin/python3.10 /usr/local/bin/python3.10; do \
	[ -n "$$p" ] && [ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null \
	&& echo "$$p" && break; done)

# data/contraindications.yml is read by the action server at run time, not by the model.
TRAINING_FILES := config.yml domain.yml $(filter-out data/contraindications.yml,$(wildcard data/*.yml)) $(wildcard bot/nlu/*.py) bot/safety/crisis.py bot/safety/crisis_patterns.yml
MODEL_STAMP := models/.trained

-include mk/*.mk

.PHONY: help setup train db run test test-fast lint validate crossval constraints clean

help:
	@echo "make run        set up, train if the data changed, start every service"
	@echo "make test       set up, train if needed, run every test"
	@echo "make train      (re)train the model when data, domain or config changed"
	@echo "make validate   rasa data validate"
	@echo "make db         migrate the database and load data/contraindications.yml"
	@echo "make crossval   5-fold NLU cross-validation into results/crossval"
	@echo "make admin      create a staff console admin (prompts for the password)"
	@echo "make retrain    train a candidate with the console's corrections; promote only if it passes the gate"
	@echo "make export-training-data   write the console's corrections into data/*.yml and show the diff"
	@echo "make retention  delete conversations older than RETENTION_DAYS"
	@echo "make bench      our stack against the rasa init bot, side by side -> results/bench.{json,png}"
	@echo "make bench-quick   a few-minute smoke run of make bench"

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@if [ -z "$(PYTHON310)" ]; then echo "Python 3.10 not found: install it or set PYTHON=/path/to/python3.10" >&2; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON310)"
	$(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.0"
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

setup: $(VENV)/.installed

# Retrain only when something the model is built from changed (Rasa's own fingerprint
# cache then reuses the parts that did not change).
$(MODEL_STAMP): $(VENV)/.installed $(TRAINING_FILES)
	$(RASA) train --out models --num-threads 2
	touch $@

train: $(MODEL_STAMP)

db: setup
	$(PY) -m bot.contraindications load

validate: setup
	$(RASA) data validate

run: train db $(RUN_DEPS)
	$(PY) -m bot.serve

test: lint train db $(TEST_DEPS)
	$(PY) -m pytest

# Errors only (undefined names, unused imports, syntax): style is not a reason to fail CI.
lint: setup
	$(PY) -m ruff check --select F,E9 bot actions tests

test-fast: setup
	$(PY) -m pytest -m "not model and not e2e"

crossval: train
	$(RASA) test nlu --cross-validation --folds 5 --out results/crossval

# Regenerate the full pin list after changing requirements*.txt.
constraints: setup
	$(PY) -m pip freeze --exclude-editable | grep -v '^pkg_resources' > constraints.txt

clean:
	rm -rf models results var .pytest_cache
