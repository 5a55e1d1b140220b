# OdorDiff: `make run` starts the app, `make test` runs the whole suite (exactly what CI runs).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: help install install-test system-test-deps run serve-api data test test-fast lint typecheck bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt  # torch==2.13.0 comes from the local wheel
	$(BIN)/python -m pip install --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(BIN)/python -m pip install -r requirements-test.txt
	touch $@

install: $(VENV)/.installed  ## create .venv and install the app

install-test: $(VENV)/.installed-test  ## install what the tests need

system-test-deps:  ## Debian's chromium, redis-server, postgresql, nginx and prometheus (promtool) for the tests (never a downloaded browser)
	@if ! command -v chromium >/dev/null || ! command -v redis-server >/dev/null || ! command -v nginx >/dev/null \
		|| ! command -v promtool >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium redis-server postgresql nginx prometheus; fi

data: install  ## verify the data files (downloading missing ones) and the shipped weights
	$(BIN)/odordiff data check --download
	$(BIN)/odordiff data weights

run: data  ## start the app on http://127.0.0.1:$(PORT) (`streamlit run app.py`, models loaded at server start)
	$(BIN)/python -m app_ui.serve --server.address 127.0.0.1 --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

serve-api: data  ## start the REST API on http://127.0.0.1:8000 (docs at /docs; keys: `odordiff api-key create`)
	$(BIN)/odordiff serve --host 127.0.0.1 --port 8000

lint: install-test  ## ruff with the rule set stated in pyproject.toml
	$(BIN)/ruff check odordiff_core odordiff_api app_ui pages app.py scripts tests

typecheck: install-test  ## mypy on the core package (settings in pyproject.toml)
	$(BIN)/mypy

test: install-test system-test-deps lint typecheck  ## lint, typecheck and the whole suite: unit, app, Redis and browser tests
	$(BIN)/odordiff data check --download
	$(BIN)/python -m pytest tests

test-fast: install-test  ## unit tests only
	$(BIN)/python -m pytest tests/unit -m "not slow"

bench: install-test  ## speed figures -> BENCHMARKS.md
	$(BIN)/python scripts/bench.py --out BENCHMARKS.md
