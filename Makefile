# Tradewind: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
CONSTRAINTS := constraints.txt
# Superset has a venv of its own (SQLAlchemy 1.4; Tradewind needs 2), pinned in superset/requirements.txt
SUPERSET_VENV ?= .venv-superset
SUPERSET_STAMP := $(SUPERSET_VENV)/.installed

.PHONY: demo test unit integration lint format bench install install-dev lock clean help airflow superset \
	env images up down stack-test

help:
	@echo "make demo   - set up .venv and run the whole pipeline on the embedded default"
	@echo "make test   - set up .venv with dev extras and run lint + the full test suite"
	@echo "make bench  - run the benchmarks (results in bench/RESULTS.md)"
	@echo "make lint   - ruff + import-linter + mypy;  make format - ruff format"
	@echo "make airflow - Airflow on the embedded default (UI on 127.0.0.1:8080, dags/ loaded)"
	@echo "make superset - Superset with the dashboards, on a Postgres security master (127.0.0.1:8088)"
	@echo "make env    - write .env for the compose stack: every secret generated (mode 0600)"
	@echo "make images - build the stack's images (tradewind, superset) with docker or podman"
	@echo "make up     - the whole stack (docker compose or podman), healthy; make down stops it"
	@echo "make stack-test - build, start and check a throwaway stack, then remove it"

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12)), "Tradewind needs Python 3.11 or 3.12"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e .
	@touch $@

$(DEV_STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[dev,airflow]'
	@touch $@ $(STAMP)

$(SUPERSET_STAMP): superset/requirements.txt
	$(PYTHON) -m venv $(SUPERSET_VENV)
	$(SUPERSET_VENV)/bin/pip install --quiet -r superset/requirements.txt
	@touch $@

install: $(STAMP)
install-dev: $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/tradewind demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench dags superset
	$(BIN)/ruff format --check src tests bench dags superset
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff format src tests bench dags superset
	$(BIN)/ruff check --fix src tests bench dags superset

# tests/superset runs the real Superset from $(SUPERSET_VENV). Test files run in collection
# order, whole files per worker: the few slow files (tests/dags, then integration) start first
# and the many quick unit tests fill the end (xdist's default puts files with most tests first,
# which left the slowest DAG tests running alone at the end).
test: lint $(SUPERSET_STAMP)
	TRADEWIND_SUPERSET_VENV=$(abspath $(SUPERSET_VENV)) $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

# Airflow on the embedded default: SQLite metadata, LocalExecutor, the project's dags/, the UI
# on 127.0.0.1 (AIRFLOW_PORT, default 8080); the admin password is printed on the first start.
airflow: $(DEV_STAMP)
	services/airflow/local.sh

# Superset on the security master (TRADEWIND_DATABASE_URL, Postgres): migrates Superset's metadata
# DB (SUPERSET_DATABASE_URL, default a SQLite file under $TRADEWIND_HOME/superset), creates the
# admin and the read-only reporting role, imports superset/bundle, serves 127.0.0.1:SUPERSET_PORT
# (default 8088). Generated secrets, the admin password among them: $TRADEWIND_HOME/superset/secrets.
superset: $(STAMP) $(SUPERSET_STAMP)
	SUPERSET_VENV=$(abspath $(SUPERSET_VENV)) services/superset/local.sh

# The whole platform in containers (docker-compose.yml) on Docker, or podman where no Docker
# engine runs: `make up` writes .env with generated secrets if it is missing, builds the images,
# starts everything and waits until it is healthy; `make down` stops it (ARGS=-v: and deletes
# its volumes). `make stack-test` starts a stack of its own, tests it and removes it.
up: $(DEV_STAMP)
	services/stack/up.sh

down: $(DEV_STAMP)
	services/stack/down.sh

stack-test: $(DEV_STAMP)
	services/stack/stack-test.sh

# The compose stack's .env: written if missing, else completed in place (valid values kept, the
# missing or invalid generated, other lines left alone); mode 0600, git-ignored. New secrets:
# `$(BIN)/python -m tradewind.stack.secrets env --rotate [--only NAME,...]`.
env: $(STAMP)
	$(BIN)/python -m tradewind.stack.secrets env --file .env

# The docker-compose stack's two Python images, with docker if an engine answers, else podman.
# Tags, base image, proxy CA and local wheels: see the variables in services/stack/images.sh.
images:
	services/stack/images.sh

unit: $(DEV_STAMP)
	$(BIN)/pytest tests/unit

integration: $(DEV_STAMP)
	$(BIN)/pytest tests/integration

bench: $(DEV_STAMP)
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[dev,bench]'
	$(BIN)/python -m bench.run --write-results && $(BIN)/python -m bench.bt_bench --write-results && $(BIN)/python -m bench.vector_bench --write-results && $(BIN)/python -m bench.rl_bench --write-results && $(BIN)/python -m bench.venue_bench --write-results && $(BIN)/python -m bench.venue_load --write-results && $(BIN)/python -m bench.live_bench --write-results

# Re-pin every dependency to what resolves today (then commit constraints.txt).
lock: $(BIN)/python
	$(BIN)/pip install --quiet --upgrade -e '.[dev,airflow]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) $(SUPERSET_VENV) .tradewind .pytest_cache .ruff_cache .mypy_cache .hypothesis
