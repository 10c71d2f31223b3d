# UGC Bot — every task a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
PY := .venv/bin/python

.DEFAULT_GOAL := help
.PHONY: help bootstrap run test test-fast lint check-flows preview migrate bench portraits samples

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap: ## install system packages (as root) and the Python venv
	@scripts/bootstrap.sh run

run: ## run the whole bot: local Telegram + web chat when no TELEGRAM_BOT_TOKEN is set
	@scripts/bootstrap.sh run
	$(PY) -m app dev

test: ## the full test suite with every real service it needs (redis, PostgreSQL, chromium)
	@scripts/bootstrap.sh test
	@set -euo pipefail; url="$$(scripts/ensure-postgres.sh | tail -n 1)"; \
	  TEST_DATABASE_URL="$$url" $(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: ## unit tests only (no services)
	@scripts/bootstrap.sh run
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

lint: ## ruff + mypy
	@scripts/bootstrap.sh run
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

check-flows: ## validate flows.yaml, the texts and the catalog
	@scripts/bootstrap.sh run
	$(PY) -m app check-flows flows.yaml
	$(PY) -m app check-catalog catalog

portraits: ## redraw the sample character portraits (catalog/characters/*.jpg)
	@scripts/bootstrap.sh run
	$(PY) scripts/make_portraits.py

samples: ## re-render the voice samples with espeak-ng (catalog/voices/*.ogg)
	@scripts/bootstrap.sh run
	$(PY) scripts/make_voice_samples.py

preview: ## render every window to docs/preview/index.html and the graph to docs/preview/flows.svg
	@scripts/bootstrap.sh run
	$(PY) -m app preview --out docs/preview

migrate: ## apply database migrations to DATABASE_URL (SQLite file by default)
	@scripts/bootstrap.sh run
	$(PY) -m app migrate

bench: ## benchmarks into docs/benchmarks.md: clicks/s, 1000 generations, local render, admin stats at 100k users
	@scripts/bootstrap.sh run
	$(PY) -m benchmarks.clicks --write docs/benchmarks.md
	$(PY) -m benchmarks.pipeline --write docs/benchmarks.md
	$(PY) -m benchmarks.render --write docs/benchmarks.md
	@scripts/bootstrap.sh test
	@set -euo pipefail; url="$$(scripts/ensure-postgres.sh | tail -n 1)"; \
	  TEST_DATABASE_URL="$$url" $(PY) -m benchmarks.stats --database both --write docs/benchmarks.md
