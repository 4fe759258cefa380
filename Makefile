# Kefu BPM: developer and CI entry points (GNU make).
#   make run        start the app on http://127.0.0.1:$(PORT)/ with demo users, and one worker (development)
#   make test       the whole suite on SQLite, then again on PostgreSQL (what CI runs)
#   make test-fast  SQLite only, stop at the first failure, no browser or slow tests
#   make lint       ruff and mypy
#
# `make test` and `make test-fast` run pytest on every core with pytest-xdist (PYTEST_WORKERS=auto;
# PYTEST_WORKERS=0 runs in one process, e.g. for pdb). --dist loadfile keeps each test file on one
# worker, so a module-scoped fixture (the step-deadline walks, the flows' property estate) is built
# once; each worker has its own databases (tests/databases.py names them after the worker's PID) and
# picks free ports.
#
# pytest markers `browser`, `slow` and `concurrency` are declared in setup.cfg [tool:pytest]
# (pytest runs with --strict-markers, so a marker must be declared there before it is used).
# scripts/pytest-run drops a marker from the -m filter, with a warning, while it is undeclared.
#
# Tools are run as `$(PYTHON) -m TOOL`, not through .venv/bin/TOOL, because console-script
# shebangs hold the absolute path of the venv they were installed in.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ASSETS_STAMP := app/static/vendor/.installed
CATALOGS := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))
PIP_INSTALL := $(PYTHON) -m pip install --disable-pip-version-check -q

PORT ?= 5000
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
PYTEST_WORKERS ?= auto
PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile

export PYTHON

.PHONY: help venv install run test test-fast lint bench bench-timers clean

help:
	@echo "make run | test | test-fast | lint | bench | install | clean   (PORT=$(PORT))"

venv install: $(STAMP) $(ASSETS_STAMP) $(CATALOGS)

# Front-end files come from npm at set-up time and are served by the app (no CDN).
$(ASSETS_STAMP): package.json package-lock.json scripts/vendor-assets $(shell find app/static_src -type f 2>/dev/null)
	@scripts/vendor-assets
	@touch $@

# Compiled translations (Simplified Chinese first, English second).
%.mo: %.po $(STAMP)
	@$(PYTHON) -m babel.messages.frontend compile -d app/translations >/dev/null

# Reinstall only when the package metadata changed since the last install.
$(STAMP): setup.cfg pyproject.toml
	@if ! $(PYTHON) -c '' 2>/dev/null; then \
	  echo "creating $(VENV)"; python3 -m venv --clear $(VENV); \
	fi
	@echo "installing kefu-bpm and its dev dependencies into $(VENV)"
	@$(PIP_INSTALL) -e '.[dev]'
	@touch $@

run: export KEFU_ENV ?= development
run: export FLASK_APP := app:create_app
run: install
	@scripts/ensure-pdf-libs
	@mkdir -p instance
	$(PYTHON) -m flask db upgrade
	$(PYTHON) -m flask deploy
	@if [ "$$KEFU_ENV" = development ]; then \
	  $(PYTHON) -m flask demo; \
	else \
	  echo "KEFU_ENV=$$KEFU_ENV: no demo users (create one with: $(PYTHON) -m flask users create NAME --role admin)"; \
	fi
	@echo
	@echo "Kefu BPM running at http://127.0.0.1:$(PORT)/ — log in as a demo user (admin, agent, tech, …" \
	  "password $$($(PYTHON) -c 'from app.demo.seed import DEMO_PASSWORD; print(DEMO_PASSWORD)'))"
	@echo
	@# One worker beside the web server: timers, reminders, escalations and the outbox run by themselves.
	@$(PYTHON) -m flask worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(PYTHON) -m gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) "app:create_app()"

# Both runs always happen, so one report shows every failure; browser tests run on SQLite only.
test: install
	@scripts/check-postgres
	@scripts/ensure-chromium
	@scripts/ensure-pdf-libs
	@scripts/ensure-proxy
	@sqlite=0; postgres=0; \
	env -u DATABASE_URL scripts/pytest-run "pytest on SQLite (all tests)" $(PARALLEL) $(PYTEST_ARGS) || sqlite=$$?; \
	DATABASE_URL='$(PG_TEST_URL)' scripts/pytest-run "pytest on PostgreSQL ($(PG_TEST_URL))" \
	  --without browser $(PARALLEL) $(PYTEST_ARGS) || postgres=$$?; \
	echo; echo "SQLite run: exit $$sqlite; PostgreSQL run: exit $$postgres"; \
	[ $$sqlite -eq 0 ] && [ $$postgres -eq 0 ]

test-fast: install
	@env -u DATABASE_URL scripts/pytest-run "pytest on SQLite (fast: no browser, no slow tests)" \
	  --without browser --without slow -x $(PARALLEL) $(PYTEST_ARGS)

lint: install
	$(PYTHON) -m ruff check app tests $(wildcard bench)
	$(PYTHON) -m mypy app

bench: install
	$(PYTHON) bench/engine_overhead.py

# 10,000 timers due over 10 minutes, 2 workers, PostgreSQL: how late they fire (about 20 minutes).
bench-timers: install
	$(PYTHON) bench/timers.py

clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache .hypothesis build dist test-output
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	@echo "kept $(VENV) and instance/ (remove them by hand for a fresh start)"
