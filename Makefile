# Tradewind: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
CONSTRAINTS := constraints.txt

.PHONY: demo test unit integration lint format bench install install-dev lock clean help airflow

help:
	@echo "make demo   - set up .venv and run the whole pipeline on the embedded default"
	@echo "make test   - set up .venv with dev extras and run lint + the full test suite"
	@echo "make bench  - run the benchmarks (results in bench/RESULTS.md)"
	@echo "make lint   - ruff + import-linter + mypy;  make format - ruff format"
	@echo "make airflow - Airflow on the embedded default (UI on 127.0.0.1:8080, dags/ loaded)"

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

install: $(STAMP)
install-dev: $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/tradewind demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench dags
	$(BIN)/ruff format --check src tests bench dags
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff format src tests bench dags
	$(BIN)/ruff check --fix src tests bench dags

test: lint
	$(BIN)/pytest -n 2 --dist loadfile

# Airflow on the embedded default: SQLite metadata, LocalExecutor, the project's dags/, the UI
# on 127.0.0.1 (AIRFLOW_PORT, default 8080); the admin password is printed on the first start.
airflow: $(DEV_STAMP)
	services/airflow/local.sh

unit: $(DEV_STAMP)
	$(BIN)/pytest tests/unit

integration: $(DEV_STAMP)
	$(BIN)/pytest tests/integration

bench: $(DEV_STAMP)
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[dev,bench]'
	$(BIN)/python -m bench.run --write-results && $(BIN)/python -m bench.backtest_bench --write-results && $(BIN)/python -m bench.rl_bench --write-results && $(BIN)/python -m bench.venue_bench --write-results && $(BIN)/python -m bench.live_bench --write-results

# Re-pin every dependency to what resolves today (then commit constraints.txt).
lock: $(BIN)/python
	$(BIN)/pip install --quiet --upgrade -e '.[dev,airflow]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .tradewind .pytest_cache .ruff_cache .mypy_cache .hypothesis
