# The two commands that matter are `make run` and `make test`; both set themselves up on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
STAMP  := $(VENV)/.installed

.PHONY: run test lint format setup migrate demo bench bench-quick stress clean messages docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_districts
	$(BIN)/python manage.py seed_demo

run: migrate
	@$(BIN)/python manage.py demo_info --port $(PORT) --host $(HOST)
	TASKS_IN_PROCESS=1 $(BIN)/daphne -b $(HOST) -p $(PORT) config.asgi:application

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Style, the import contracts (.importlinter) and the types. mypy's errors from before the checker
# are in mypy-baseline.txt: a new one fails, and so does one fixed but still listed; after fixing,
# record the smaller baseline with `.venv/bin/mypy | .venv/bin/mypy-baseline sync`.
# mypy's exit 1 means "errors found" (the baseline judges them); 2 is a crash or a bad config.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	@out=$$($(BIN)/mypy 2>&1); rc=$$?; \
	if [ $$rc -gt 1 ]; then echo "$$out"; exit $$rc; fi; \
	echo "$$out" | $(BIN)/mypy-baseline filter --no-colors
	@# The documentation site, --strict: a broken link, a missing anchor or a page outside the nav
	@# fails (mkdocs.yml). Built into a throwaway directory; --quiet would hide the warnings.
	@dir=$$(mktemp -d); NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir "$$dir"; \
	rc=$$?; rm -rf "$$dir"; exit $$rc

# The documentation site (mkdocs.yml, docs/) on http://127.0.0.1:8001, rebuilt on every change.
DOCS_PORT ?= 8001
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr $(HOST):$(DOCS_PORT)

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm .pytest_cache

# Refresh the Korean catalogue from the source strings, then compile it. Translate the new or
# changed entries in locale/ko/LC_MESSAGES/django.po (and drop their `#, fuzzy`), then run it again.
messages: setup
	$(BIN)/python manage.py makemessages -l ko --ignore=.venv --ignore=tests --ignore=bench
	$(BIN)/python manage.py compilemessages -l ko --ignore=.venv

# The benchmark (bench/, docs/performance.md): starts PostgreSQL/Redis if down, a fresh database
# mvoting_bench, gunicorn for HTTP and daphne for WebSockets; writes bench/results/latest.{txt,json}.
# ARGS=--quick (< 2 min).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench --quick $(ARGS)

# The reliability suite at large sizes (tests/reliability with STRESS=1: 10,000 citizens, longer
# runs; the state machine with 500 examples) against PostgreSQL + Redis, the local services unless
# DATABASE_URL / REDIS_URL say otherwise. Fresh test database test_mvoting_stress.
stress: setup
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" \
	REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" \
	TEST_DATABASE_NAME="$${TEST_DATABASE_NAME:-test_mvoting_stress}" \
	CHANNEL_LAYER_PREFIX="$${CHANNEL_LAYER_PREFIX:-stress}" \
	CACHE_KEY_PREFIX="$${CACHE_KEY_PREFIX:-stress}" \
	STRESS=1 STRESS_EXAMPLES=500 \
	  $(BIN)/python -m pytest tests/reliability tests/security tests/voting/test_concurrency.py \
	    tests/voting/test_state_machine.py tests/notifications/test_worker.py \
	    tests/proposals/test_support_concurrency.py --create-db -p no:cacheprovider $(PYTEST_ARGS)
