# Two commands on a fresh machine: `make run` (demo) and `make test` (everything).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install browser redis run worker test test-unit test-e2e test-e2e-headed clean serve test-postgres bench lint format

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e ".[test,lint]"
	touch $(STAMP)

# Browser tests use Debian's Chromium (Playwright's own download cannot reach its servers here).
browser:
	@if [ -x /usr/bin/chromium ] || [ -n "$$PLAYWRIGHT_CHROMIUM" ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Chromium. Install it with: sudo apt-get install chromium"; \
		echo "(or point PLAYWRIGHT_CHROMIUM at a Chromium binary, or run: $(VENV)/bin/playwright install chromium)"; \
		exit 1; \
	fi

# project/tests/test_redis.py runs the production cache against Debian's redis-server on loopback.
redis:
	@if command -v redis-server >/dev/null; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's redis-server for the production-cache tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	else \
		echo "The production-cache tests need redis-server. Install it with: sudo apt-get install redis-server"; \
		exit 1; \
	fi

# The demo's emails and printed logins point at the address it serves on.
run: export SITE_URL ?= http://$(HOST):$(PORT)
# A demo clinic that pages and emails can send people to (020 7946 0xxx: Ofcom's numbers for drama).
run: export CLINIC_PHONE ?= 020 7946 0000
run: export CLINIC_ADDRESS ?= 1 River Street, London
# The web server and the background worker side by side; one Ctrl+C stops both. Emails are
# printed by the worker on this console (EMAIL_URL=console:), unless EMAIL_URL says otherwise.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Serving the demo on http://$(HOST):$(PORT)/ with its worker (Ctrl+C stops both)"
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py run_worker --no-reload & worker=$$!; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# The background worker alone: sends the clinic's emails, queues reminders, retries (docs/notifications.md).
worker: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py run_worker

test: install browser redis
	$(PY) -m pytest

test-unit: install redis
	$(PY) -m pytest -m "not e2e"

test-e2e: install browser
	$(PY) -m pytest -m e2e e2e

test-e2e-headed: install browser
	$(PY) -m pytest -m e2e e2e --headed

# Production settings (DEBUG off, gunicorn, compressed hashed static files) on http://$(HOST):$(PORT).
serve: install
	HOST=$(HOST) PORT=$(PORT) ops/serve.sh

# The whole suite again on a throwaway PostgreSQL server on loopback (Debian's postgresql).
test-postgres: install browser redis
	@pgdir=$$(mktemp -d /tmp/clinic-pg.XXXXXX); \
	trap 'ops/local_postgres.sh stop "$$pgdir"' EXIT; \
	url=$$(PG_FAST=1 ops/local_postgres.sh start "$$pgdir"); \
	echo "Running the suite on PostgreSQL ($$url)"; \
	DATABASE_URL="$$url" $(PY) -m pytest $(PYTEST_ARGS)

# The performance budget (docs/performance.md): gunicorn + wrk, a few minutes. Not part of `make test`.
bench: install
	$(PY) -m bench

# What CI checks before the tests: lint, formatting (Python and templates), Django idioms, types.
PYTHON_FILES = $$(find . -name '*.py' -not -path './.venv/*' -not -path './build/*')
TEMPLATES = $$(find templates -name '*.html')
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/django-upgrade --target-version 5.2 --check $(PYTHON_FILES)
	$(VENV)/bin/djade --target-version 5.2 --check $(TEMPLATES)
	$(VENV)/bin/mypy

# Apply what `make lint` can fix by itself.
format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/django-upgrade --target-version 5.2 $(PYTHON_FILES) || true
	$(VENV)/bin/djade --target-version 5.2 $(TEMPLATES) || true

clean:
	rm -rf $(VENV) staticfiles test-results db.sqlite3 bench/results
