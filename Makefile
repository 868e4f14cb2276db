# The one command vocabulary of Newsflow. `make help` lists it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := 3.11
export PATH := $(HOME)/.local/bin:$(PATH)

UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python
STACK := python3 deploy/local/stack.py
SERVERS ?= kafka elasticsearch postgres ferretdb
PYTEST_ARGS ?=

.PHONY: help
help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(UV) sync --all-packages --locked
	@touch $@

.PHONY: install
install: .venv/.synced ## Install the Python workspace (uv, one lock)

.PHONY: fetch
fetch: ## Fetch and build the servers (cached under /var/cache/newsflow or ~/.cache/newsflow)
	deploy/local/fetch.sh all

.PHONY: infra
infra: install fetch ## Start Kafka, Elasticsearch and FerretDB (detached) and create the topics
	$(STACK) start $(SERVERS)
	.venv/bin/newsflow-topics

.PHONY: up
up: infra ## Run the whole platform with demo content, roles supervised (Ctrl-C stops everything)
	@trap '$(STACK) stop' EXIT; $(PY) deploy/local/supervise.py up --env-file deploy/local/up.env

.PHONY: down
down: ## Stop everything `make up` or `make infra` started
	-@test ! -x $(PY) || $(PY) deploy/local/supervise.py down
	$(STACK) stop

.PHONY: test
test: install fetch browser lint typecheck ## Start the servers if needed, run every test against them
	$(STACK) session -- $(MAKE) --no-print-directory test-only

.PHONY: browser
browser: tests/browser/node_modules/.installed ## Install what the browser tests drive: Debian's chromium and axe-core
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; }

tests/browser/node_modules/.installed: tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund
	@touch $@

.PHONY: test-only
test-only: # the tests alone, against servers that already run
	.venv/bin/newsflow-topics
	.venv/bin/pytest $(PYTEST_ARGS)

.PHONY: lint
lint: install ## ruff (lint and format check)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	test -z "$$(gofmt -l deploy/check)" && go -C deploy/check vet ./...

.PHONY: format
format: install ## Apply ruff's fixes and formatting
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

.PHONY: typecheck
typecheck: install ## mypy, strict, on libs/, services/*/src and bench/
	.venv/bin/mypy libs/contracts/src libs/kit/src services/*/src bench

.PHONY: schemas
schemas: install ## Regenerate the committed JSON Schemas of the events
	.venv/bin/newsflow-schemas --write

.PHONY: env-example
env-example: install ## Regenerate .env.example from the services' settings classes
	.venv/bin/newsflow-envdoc --write .env.example

.PHONY: bench
bench: install fetch ## Run the benchmarks against the real local stack (results in bench/results/)
	$(STACK) session -- sh -c '.venv/bin/newsflow-topics && exec .venv/bin/python -m bench $(BENCH)'

.PHONY: soak
soak: install fetch ## 10 min of mixed load (NEWSFLOW_SOAK_S, NEWSFLOW_SOAK_CLIENTS): table + bench/results/soak.json
	$(STACK) session -- $(PY) tests/soak/run.py

.PHONY: clean
clean: down ## Remove local data (not the download cache)
	rm -rf .data
