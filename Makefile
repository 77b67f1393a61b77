# Titrate: set-up, run, test. GNU make; needs python3 (3.11), node/npm, and apt for browser-deps.
#
#   make run          set up, migrate ./data/titrate.db, serve on http://127.0.0.1:8000
#   make test         set up, lint, then the whole pytest suite (TEST_DATABASE_URL for PostgreSQL)
#   make lint         ruff, ruff format --check, import contracts, mypy, alembic check
#   make browser-deps Debian chromium, poppler-utils, pango, fonts for browser and PDF tests (root)
#
# Set-up is driven by stamp files, so a second `make setup` does nothing and takes no time.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
LOCK   := requirements.lock

HTMX   := static/vendor/htmx.min.js
PY_STAMP   := $(VENV)/.titrate-installed
NODE_STAMP := node_modules/.titrate-installed

HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` serves the dev environment from a SQLite file under ./data/; override on the
# command line or in the environment (e.g. TITRATE_DATABASE_URL=postgresql+psycopg://...).
TITRATE_ENVIRONMENT  ?= dev
TITRATE_DATABASE_URL ?= sqlite:///./data/titrate.db

# The dosing-engine tests get their own 100 % branch-coverage gate once they exist.
DOMAIN_TESTS := $(shell find tests/unit/domain -name 'test_*.py' 2>/dev/null | head -n 1)

.PHONY: help setup run serve migrate test pytest lint typecheck coverage-domain browser-deps \
        bench bench-deps mutation lock clean messages sbom coverage

help:
	@echo "make run           set up, migrate ./data/titrate.db and serve on http://$(HOST):$(PORT)"
	@echo "make test          set up, lint and run every test (TEST_DATABASE_URL=... for PostgreSQL)"
	@echo "make lint          ruff check, ruff format --check, lint-imports, mypy, alembic check"
	@echo "make coverage-domain  tests/unit/domain with 100 % branch coverage of app/domain"
	@echo "make coverage       the whole suite with a branch-coverage report of app/ (no gate)"
	@echo "make typecheck     mypy --strict on app/"
	@echo "make browser-deps  apt-get install $(SYSTEM_PACKAGES) (root)"
	@echo "make bench         run the benchmarks under bench/"
	@echo "make mutation      mutmut over app/domain with the domain tests; prints the score"
	@echo "make bench-deps    apt-get install wrk and valgrind, the benchmarks' tools (root)"
	@echo "make messages      extract translatable text into $(LOCALES)/messages.pot, merge into each .po"
	@echo "make lock          rewrite $(LOCK) from the current virtualenv"
	@echo "make sbom          CycloneDX SBOM of $(LOCK) in build/sbom.cdx.json"
	@echo "make clean         remove the virtualenv, node_modules, vendored htmx and caches"

# ---------------------------------------------------------------------------------------------
# Set-up

setup: $(PY_STAMP) $(HTMX)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when the dependencies or the pins change.
$(PY_STAMP): pyproject.toml $(LOCK) | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(LOCK) -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(HTMX): $(NODE_STAMP)
	@mkdir -p $(@D)
	cp node_modules/htmx.org/dist/htmx.min.js $@

# ---------------------------------------------------------------------------------------------
# Running

migrate: setup
	TITRATE_ENVIRONMENT=$(TITRATE_ENVIRONMENT) TITRATE_DATABASE_URL='$(TITRATE_DATABASE_URL)' \
		$(BIN)/titrate migrate

run: migrate
	@echo "Titrate on http://$(HOST):$(PORT)  (database: $(TITRATE_DATABASE_URL); Ctrl-C stops)"
	@echo "First time? In another terminal create the first administrator (asks for the password twice):"
	@echo "  TITRATE_ENVIRONMENT=$(TITRATE_ENVIRONMENT) TITRATE_DATABASE_URL='$(TITRATE_DATABASE_URL)' $(BIN)/titrate create-user --username admin --role admin --system-admin --display-name 'Your Name'"
	TITRATE_ENVIRONMENT=$(TITRATE_ENVIRONMENT) TITRATE_DATABASE_URL='$(TITRATE_DATABASE_URL)' \
		exec $(BIN)/titrate serve --host $(HOST) --port $(PORT)

serve: run

# ---------------------------------------------------------------------------------------------
# Checks

# pytest's summary line stays the last line of `make test`: lint and the domain gate run first.
test: setup lint
ifneq ($(strip $(DOMAIN_TESTS)),)
	@$(MAKE) coverage-domain
	@$(MAKE) pytest PYTEST_EXTRA=--ignore=tests/unit/domain
else
	@$(MAKE) pytest
endif

# What does not depend on the database runs in the SQLite run only: the real-client stage
# (tests/real_clients) and page quality, the Nu Html Checker and axe-core over every page
# (marker markup). The domain tests have just run under the coverage gate, so `make test`
# does not run them twice.
REAL_CLIENTS_ONCE := $(if $(TEST_DATABASE_URL),-m "not real_clients and not markup",)
PYTEST_EXTRA ?=

pytest: setup
	@if [ -n "$${TEST_DATABASE_URL:-}" ]; then db="PostgreSQL at $${TEST_DATABASE_URL##*@}"; \
	else db="SQLite (temporary file)"; fi; echo "== pytest: whole suite on $$db"
	$(PY) -m pytest $(REAL_CLIENTS_ONCE) $(PYTEST_EXTRA)

# The whole suite under branch coverage of app/ (a report, no gate). Not in `make test`:
# tracing made the suite about 40 % slower, and the gate that matters, app/domain at 100 %,
# runs there already.
coverage: setup
	$(PY) -m pytest --cov=app --cov-branch --cov-report=term:skip-covered $(PYTEST_EXTRA)

coverage-domain: setup
	@echo "== pytest: tests/unit/domain, 100 % branch coverage of app/domain"
	$(PY) -m pytest tests/unit/domain --cov=app/domain --cov-branch --cov-fail-under=100 \
		--cov-report=term-missing

lint: setup
	@echo "== ruff check"
	$(BIN)/ruff check .
	@echo "== ruff format --check"
	$(BIN)/ruff format --check .
	@echo "== import contracts"
	$(BIN)/lint-imports --cache-dir $(VENV)/.import_linter_cache
	@echo "== mypy --strict (app/)"
	$(BIN)/mypy
	@echo "== bandit (app/; each finding triaged in place with '# nosec <id>' and its reason)"
	$(BIN)/bandit -q -r app
	@echo "== alembic check (throwaway SQLite database at head)"
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	export TITRATE_ENVIRONMENT=dev TITRATE_DATABASE_URL="sqlite:///$$tmp/alembic-check.db"; \
	$(BIN)/alembic -q upgrade head && $(BIN)/alembic check

typecheck: setup
	$(BIN)/mypy

# ---------------------------------------------------------------------------------------------
# Debian packages: Chromium for the browser tests (Playwright drives /usr/bin/chromium), poppler
# for pdftotext, and pango + DejaVu fonts, which WeasyPrint needs
# to write PDFs (DejaVu covers Vietnamese).
SYSTEM_PACKAGES := chromium poppler-utils libpango-1.0-0 libpangoft2-1.0-0 \
	fonts-dejavu-core

browser-deps:
	@if [ -x /usr/bin/chromium ] && command -v pdftoppm >/dev/null \
		&& dpkg-query -W libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1; then \
		echo "browser-deps: chromium, poppler-utils, pango and fonts already installed"; \
	else \
		if [ "$$(id -u)" -ne 0 ]; then \
			echo "browser-deps: needs root (apt-get install -y $(SYSTEM_PACKAGES))" >&2; \
			exit 1; \
		fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq; \
		apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
		dpkg-query -W $(SYSTEM_PACKAGES); \
	fi

# ---------------------------------------------------------------------------------------------
# Translations: patient documents in en, de, vi. The .po files are the source (no .mo is kept;
# app/printing/i18n.py compiles them in memory). After `make messages`, translate every new
# entry in de and vi; tests/printing fails while one is missing.

LOCALES := app/printing/locales

messages: setup
	$(BIN)/pybabel --quiet extract -F babel.cfg -k N_ --sort-by-file --no-wrap \
		--project=Titrate --copyright-holder="Titrate" -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel --quiet update -D messages -i $(LOCALES)/messages.pot -d $(LOCALES) \
		--no-wrap --no-fuzzy-matching

# ---------------------------------------------------------------------------------------------
# Other

mutation: setup
	$(PY) bench/mutation.py $(MUTATE)

# The benchmarks' tools (Debian packages; root): wrk, bench/preview.py's load generator, and
# valgrind, whose callgrind counts bench/instructions.py's instructions per request.
BENCH_TOOLS := wrk valgrind
bench-deps:
	@missing=""; for tool in $(BENCH_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then echo "bench-deps: $(BENCH_TOOLS) already installed"; \
	elif [ "$$(id -u)" -ne 0 ]; then echo "bench-deps: needs root (apt-get install -y$$missing)" >&2; exit 1; \
	else DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null && echo "bench-deps: installed$$missing"; fi

bench: setup bench-deps
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "bench: no benchmarks under bench/ yet"; exit 0; fi; \
	for script in "$${scripts[@]}"; do \
	  [ "$$script" = bench/mutation.py ] && continue; echo "== $$script"; $(PY) "$$script"; done

# Rewrite the pins from the current virtualenv (after a deliberate upgrade), then commit them.
lock: $(PY_STAMP)
	@{ echo "# Pins for a fresh machine: pip install -c $(LOCK) -e '.[dev]' (make setup does this)."; \
	   echo "# Regenerate from a tested virtualenv with 'make lock'."; \
	   $(BIN)/pip freeze --exclude-editable; } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)

# CycloneDX SBOM of exactly what requirements.lock pins (cyclonedx-bom, pinned there too).
SBOM := build/sbom.cdx.json
sbom: $(PY_STAMP)
	@mkdir -p $(dir $(SBOM))
	$(BIN)/cyclonedx-py requirements --output-reproducible --of JSON -o $(SBOM) $(LOCK)
	@echo "SBOM: $(SBOM)"

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache .mypy_cache \
		.hypothesis .coverage .coverage.* htmlcov .import_linter_cache
