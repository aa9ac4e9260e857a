# Aerie: `make run` serves the app, `make test` runs every test tier. Both install what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 3000
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.txt constraints.txt | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt constraints.txt | sha1sum | cut -c1-12)

export REFLEX_USE_SYSTEM_BUN := 1
export NPM_CONFIG_REGISTRY := https://registry.npmjs.org
export REFLEX_CHECK_LATEST_VERSION := 0
export REFLEX_TELEMETRY_ENABLED := false
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run run-prod dev test lint typecheck pytest install install-dev browser bench backup clean

$(RUNTIME_STAMP): requirements.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	@rm -f $(VENV)/.runtime-*; touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.dev-*; touch $@

# Benchmark-only tools: cascadio (the converter bench/convert.py compares against), py-spy.
BENCH_STAMP := $(VENV)/.bench-$(shell cat requirements-bench.txt constraints.txt | sha1sum | cut -c1-12)

$(BENCH_STAMP): $(DEV_STAMP) requirements-bench.txt
	$(PY) -m pip install --quiet -r requirements-bench.txt -c constraints.txt
	@rm -f $(VENV)/.bench-*; touch $@

# The glTF tools every converted model goes through before it is published (npm packages, installed
# with the venv's bun from the lock file): the Khronos validator and gltfpack (meshopt compression).
GLTF_TOOLS := aerie_app/cad/gltf-tools
GLTF_TOOLS_STAMP := $(GLTF_TOOLS)/node_modules/.installed-$(shell cat $(GLTF_TOOLS)/package.json $(GLTF_TOOLS)/bun.lock | sha1sum | cut -c1-12)

$(GLTF_TOOLS_STAMP): $(RUNTIME_STAMP) $(GLTF_TOOLS)/package.json $(GLTF_TOOLS)/bun.lock
	cd $(GLTF_TOOLS) && $(CURDIR)/$(VENV)/bin/bun install --frozen-lockfile --no-progress
	@rm -f $(GLTF_TOOLS)/node_modules/.installed-*; touch $@

# axe-core for the accessibility tier of the e2e tests (npm, through the same bun).
AXE := tests/e2e/axe
AXE_STAMP := $(AXE)/node_modules/.installed-$(shell cat $(AXE)/package.json $(AXE)/bun.lock | sha1sum | cut -c1-12)

$(AXE_STAMP): $(RUNTIME_STAMP) $(AXE)/package.json $(AXE)/bun.lock
	cd $(AXE) && $(CURDIR)/$(VENV)/bin/bun install --frozen-lockfile --no-progress
	@rm -f $(AXE)/node_modules/.installed-*; touch $@

install: $(RUNTIME_STAMP) $(GLTF_TOOLS_STAMP)
install-dev: $(DEV_STAMP) $(GLTF_TOOLS_STAMP) $(AXE_STAMP)

## Serve Aerie in production mode on one port (UI at /, REST API under /api).
run: install
	$(PY) -m aerie_app serve --port $(PORT)

## Production shape: PostgreSQL + Redis + several workers (see README "Running for a whole team").
run-prod: install
	@test -n "$$AERIE_DATABASE_URL" || { echo "Set AERIE_DATABASE_URL (e.g. postgresql+psycopg://aerie@127.0.0.1:5432/aerie)"; exit 2; }
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0)"; exit 2; }
	AERIE_WORKERS=$${AERIE_WORKERS:-3} $(PY) -m aerie_app serve --port $(PORT)

## Reflex's dev mode (hot reload; page on :3000, backend and API on :8000).
dev: install
	$(PY) -m aerie_app serve --env dev

## Debian's Chromium for the browser tests (installed when missing and we are root).
browser:
	@bash .ci/ensure-chromium.sh

lint: install-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: install-dev
	$(VENV)/bin/mypy

pytest: install-dev browser
	$(PY) -m pytest $(PYTEST_ARGS)

## Every tier: format, lint, types, then unit + api + cad + e2e (+ pg when PostgreSQL answers).
test: lint typecheck pytest

## Every benchmark (docs/benchmarks.md says what each measures). With no STEP corpus beside the
## checkout (or AERIE_CORPUS_DIR), the CAD ones use the project's generated fixtures and say so.
bench: install-dev $(BENCH_STAMP) browser
	$(PY) bench/api.py
	$(PY) bench/hotpath.py
	$(PY) bench/floor.py
	$(PY) bench/shop.py
	$(PY) bench/dataio.py
	$(PY) bench/ui.py
	$(PY) bench/live.py
	$(PY) bench/load.py
	$(PY) bench/convert.py
	$(PY) bench/assembly.py

## One backup archive (database snapshot, stored files, manifest) into the backup folder.
backup: install
	$(PY) -m aerie_app backup

clean:
	rm -rf .web $(VENV) artifacts
