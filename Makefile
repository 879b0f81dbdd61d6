# MLP Lab — fresh machine: `make demo` (the main job) and `make test` (the whole suite).
# Both create .venv and install the pinned dependencies when missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= $(abspath ../shared/data)
export MLPLAB_DATA ?= $(DATA)

.PHONY: setup system-deps test-deps demo test bench bench-gpu lint generate validate-graders clean

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required (python3.11 not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# Debian packages: bubblewrap (the sandbox of `mlplab grade` / `mlplab autograde`); for the tests also
# chromium (formgrader browser test, driven by Playwright without any browser download) and PostgreSQL.
system-deps:
	@if ! command -v bwrap >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "warning: bubblewrap missing; install it (apt-get install bubblewrap) for sandboxed grading"; fi; \
	fi

test-deps: system-deps
	@if ! command -v chromium >/dev/null || ! command -v pg_ctlcluster >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium postgresql >/dev/null; \
	  else echo "warning: chromium and postgresql are needed by the browser and PostgreSQL tests"; fi; \
	fi

setup: $(STAMP) system-deps

demo: setup
	$(PY) -m mlplab demo

# PostgreSQL for tests/test_postgres_gradebook.py: a local server on loopback (.ci/postgres.sh, as root),
# unless MLPLAB_TEST_PG_URL points at one already.
test: setup test-deps
	export MLPLAB_TEST_PG_URL="$${MLPLAB_TEST_PG_URL:-$$(.ci/postgres.sh)}" && \
	MLPLAB_QUICK=1 $(PY) -m pytest -n 2 --dist loadfile --durations=15 tests

bench: setup
	$(PY) benchmarks/run.py

bench-gpu: setup
	$(PY) benchmarks/bench_gpu.py

lint: setup
	$(PY) -m ruff check .

generate: setup
	$(PY) -m mlplab generate

validate-graders: setup
	$(PY) -m mlplab validate-graders

clean:
	rm -rf autograded/* submitted feedback exchange gradebook.db demo-output
