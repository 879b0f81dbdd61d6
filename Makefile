# MLP Lab — fresh machine: `make demo` (the main job) and `make test` (the whole suite).
# Both create .venv and install the locked dependencies (requirements.lock, every hash checked) when missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= $(abspath ../shared/data)
export MLPLAB_DATA ?= $(DATA)

.PHONY: setup system-deps test-deps hub-deps demo test test-quick bench bench-gpu reference-figures lint lock generate validate-graders clean

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required (python3.11 not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements.lock
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

# JupyterHub's proxy for `mlplab hub --demo` and tests/test_service_hub.py: configurable-http-proxy from npm
# (node >= 18), installed beside the venv (.venv/chp). Students' single-user servers run as their own Unix
# users, so the interpreter must be reachable by them: when Python lives under a private /root (pyenv as
# root, as on CI), /root gets o+x (traverse only, no listing).
CHP_VERSION := 5.3.0
CHP := $(VENV)/chp/node_modules/.bin/configurable-http-proxy
hub-deps: $(STAMP)
	@test -x $(CHP) || { command -v npm >/dev/null || { echo "npm is needed for configurable-http-proxy (apt-get install npm)"; exit 1; }; \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/chp configurable-http-proxy@$(CHP_VERSION) >/dev/null; }
	@case "$$(readlink -f $(PY))" in /root/*) if [ "$$(id -u)" = 0 ]; then chmod o+x /root; fi;; esac

setup: $(STAMP) system-deps

demo: setup
	$(PY) -m mlplab demo

# PostgreSQL for tests/test_postgres_gradebook.py: a local server on loopback (.ci/postgres.sh, as root),
# unless MLPLAB_TEST_PG_URL points at one already.
# Two xdist workers on two cores: one BLAS/OpenMP thread each (oversubscribed BLAS threads made single
# numpy training runs up to 15x slower on a loaded 2-core machine).
THREADS := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
test: setup test-deps hub-deps
	export MLPLAB_TEST_PG_URL="$${MLPLAB_TEST_PG_URL:-$$(.ci/postgres.sh)}" && \
	$(THREADS) MLPLAB_QUICK=1 $(PY) -m pytest -n 2 --dist loadfile --durations=15 tests

# The quick loop: the tests that need no root/bwrap, browser, PostgreSQL, real data or long runs (markers
# registered in pyproject.toml); under 2 minutes on 2 cores. `make test` stays the whole suite.
QUICK := not needs_root and not needs_browser and not needs_postgres and not needs_data and not slow
test-quick: setup
	$(THREADS) MLPLAB_QUICK=1 $(PY) -m pytest -n 2 --dist loadfile --durations=10 -m "$(QUICK)" tests

bench: setup
	$(PY) benchmarks/run.py

bench-gpu: setup
	$(PY) benchmarks/bench_gpu.py

# Notebook 05's reference figures (every experiment over seeds, with provenance) on one GPU with the full
# CIFAR-10 in $(MLPLAB_DATA); writes source/mlp/reference_figures_05.json (then `make generate`).
# Default size (15 epochs, 3 seeds) is estimated at 4-6 minutes on one H100/H200; the timeout keeps what ran.
REFERENCE_ARGS ?=
reference-figures: setup
	timeout 590 $(PY) benchmarks/reference_figures.py $(REFERENCE_ARGS)

lint: setup
	$(PY) -m ruff check .

# Regenerate requirements.lock after editing pyproject.toml's dependencies (uv, hashed; see .ci/lock.py).
# UPGRADE=1 moves every pin to the newest release the ranges allow; otherwise the locked versions are kept.
lock: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) .ci/lock.py $(if $(UPGRADE),--upgrade)

generate: setup
	$(PY) -m mlplab generate

validate-graders: setup
	$(PY) -m mlplab validate-graders

clean:
	rm -rf autograded/* submitted feedback exchange gradebook.db demo-output
