# Secure GPT Gateway. `make run` and `make test` are the two set-up commands (see README).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_CONCURRENCY ?= 2
PYTEST_ARGS ?=

.PHONY: run test test-fast serve worker lint install migrate bench bench-soak bench-profile clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# .env holds generated secrets for the local demo (created once, never committed).
.env:
	$(BIN)/python -m gateway_project.make_env > .env
	@echo "wrote .env with fresh local secrets"

run: install .env
	set -a; source .env; set +a; export SITE_URL=http://$(HOST):$(PORT); \
	$(BIN)/python manage.py migrate --noinput -v0 && \
	$(BIN)/python manage.py bootstrap_demo && \
	exec $(BIN)/uvicorn gateway_project.asgi:application --host $(HOST) --port $(PORT) \
		--loop uvloop --http httptools --no-access-log --no-proxy-headers

test: install
	eval "$$($(BIN)/python tests/services.py)"; \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Local loop: skips the slow suites (browser, load, fault).
test-fast: install
	eval "$$($(BIN)/python tests/services.py)"; \
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# One metrics directory per server, emptied at start (all workers write their samples there).
PROMETHEUS_MULTIPROC_DIR ?= var/metrics/serve-$(PORT)

serve: install
	$(BIN)/python manage.py collectstatic --noinput -v0
	mkdir -p "$(PROMETHEUS_MULTIPROC_DIR)" && rm -f "$(PROMETHEUS_MULTIPROC_DIR)"/*.db
	PROMETHEUS_MULTIPROC_DIR="$(PROMETHEUS_MULTIPROC_DIR)" exec $(BIN)/uvicorn gateway_project.asgi:application --host $(HOST) --port $(PORT) \
		--workers $(WEB_CONCURRENCY) --loop uvloop --http httptools --no-access-log \
		--no-proxy-headers --timeout-graceful-shutdown 30

worker: install
	exec $(BIN)/celery -A gateway_project worker --beat --loglevel INFO

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy .

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Side-by-side benchmark (mock directly, this gateway, LiteLLM); see docs/performance.md.
# BENCH_QUICK=1 for a short smoke; BENCH_WORKERS="1 2" chooses the worker counts.
bench: install
	benchmarks/setup.sh
	$(BIN)/python -m benchmarks.run

# 5 minutes of mixed load: RSS, fds and DB connections must stay flat.
bench-soak: install
	benchmarks/setup.sh
	$(BIN)/python -m benchmarks.soak

# py-spy flame graph and top functions of one gateway worker at concurrency 16.
bench-profile: install
	benchmarks/setup.sh --profile
	$(BIN)/python -m benchmarks.pyspy_profile

clean:
	rm -rf $(VENV) var .pytest_cache
