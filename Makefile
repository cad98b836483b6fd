# Two commands for a newcomer: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat config/requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
SETTINGS ?= config/settings.yaml

.PHONY: setup run demo test test-fast lint ui bench clean

setup: $(STAMP)

# uv is ~4x faster than pip here; --compile-bytecode because this machine sets PYTHONDONTWRITEBYTECODE.
$(STAMP): pyproject.toml config/requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==0.13.8
	$(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode -r config/requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

demo: setup
	$(BIN)/sna demo

run: setup
	$(BIN)/sna demo
	$(BIN)/sna run --settings $(SETTINGS)

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest tests/unit

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/dg check defs

ui: setup
	$(BIN)/sna ui

# Wall time and peak memory per stage at county, intermediate and national size, against a bare
# read and a pandas reference; writes tests/benchmarks/results/<date>.json. Quicker:
# BENCH_SIZES=county,intermediate make bench (see tests/benchmarks/harness.py for the options).
bench: setup
	$(BIN)/python -m tests.benchmarks

# Regenerate the lock after changing dependencies in pyproject.toml.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o config/requirements.lock

clean:
	rm -rf data/demo data/scaled data/bench data/out data/*.duckdb data/*.duckdb.lock data/*.duckdb.wal data/.dagster
