# make up    - create .venv if needed, install requirements and web/ npm packages (only when they
#              changed), run the whole stack in the foreground; Ctrl-C stops it
# make test  - the full test suite; tests start their own servers on free ports
# make bench - every script in bench/ (a .py with a __main__ block; the rest
#              are helpers): engine.py first, then http*.py, then the others
# make chaos - the whole stack under a bot swarm and seeded faults for CHAOS_DURATION
#              seconds (600), then the money checks; CHAOS_SEED=N repeats a run

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Touched after a successful install; requirements.txt newer than it means reinstall.
STAMP := $(VENV)/.requirements-installed
# The trading page's browser libraries (web/package-lock.json), reinstalled when the lock changes.
NPM_STAMP := web/node_modules/.package-lock-installed
BENCH_SCRIPTS = $(shell grep -l '__name__ == "__main__"' bench/*.py 2>/dev/null)
BENCHES = $(filter bench/engine.py,$(BENCH_SCRIPTS)) $(filter bench/http%.py,$(BENCH_SCRIPTS)) \
          $(filter-out bench/engine.py bench/http%.py,$(BENCH_SCRIPTS))

CHAOS_DURATION ?= 600
CHAOS_SEED ?=

.PHONY: up test lint bench chaos venv
.DEFAULT_GOAL := up

venv: $(STAMP)

$(PY):
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "Could not create $(VENV). On Debian/Ubuntu: sudo apt-get install -y python3-venv"; exit 1; }

$(STAMP): requirements.txt clients/python/pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $@

$(NPM_STAMP): web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: the trading page needs it for its chart and \
	  Socket.IO libraries. On Debian/Ubuntu: sudo apt-get install -y npm"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

up: $(STAMP) $(NPM_STAMP)
	$(PY) -m devstack up

test: $(STAMP) $(NPM_STAMP) lint
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	@test -n "$(strip $(BENCHES))" || echo "no benchmarks in bench/ yet"
	@set -e; for script in $(BENCHES); do \
	  echo "== $$script"; PYTHONPATH=$(CURDIR) $(PY) $$script; done

chaos: $(STAMP) $(NPM_STAMP)
	$(PY) -m devstack chaos --duration $(CHAOS_DURATION) $(if $(CHAOS_SEED),--seed $(CHAOS_SEED))
