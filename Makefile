# The two commands a newcomer needs: `make demo` and `make test`. Both create the virtual
# environment and install the project into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PERSONS ?= 5000

BENCH_PERSONS ?= 100000
SCALE_PERSONS ?= 400000

.PHONY: install demo test lint bench dagster clean

# uv installs the same packages as pip from the same registry, in under a minute where pip takes two on two
# cores. Bytecode is compiled at install, as pip does: where PYTHONDONTWRITEBYTECODE is set, a package left
# uncompiled is compiled again by every process that imports it (the hub's imports 8 s -> 19 s).
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test,bench,dask]'
	touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/hub demo --persons $(PERSONS)

# The layers (import-linter's contracts in pyproject.toml). That workspace.yaml loads is a test
# (tests/test_definitions.py): Dagster's own validate command took 7 s of every `make test` before any test ran.
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Every core, each test module whole on one worker (its module fixtures are built once).
test: lint
	$(BIN)/pytest -n auto --dist loadfile

# Matching scored on both simulator profiles (with Splink beside it), then the whole pipeline at scale on both
# stores, a full and an incremental run (BENCHMARKS.md); about an hour and a half on two cores.
bench: $(INSTALLED)
	$(BIN)/hub bench --persons $(BENCH_PERSONS)
	$(BIN)/hub bench-scale --persons $(SCALE_PERSONS) --dir bench/scale

# The UI on the hub's own Dagster instance ($HUB_HOME/.hub/dagster, made if missing): the history, logs and
# check results of every `hub run` are there, and runs started here queue one at a time and take the hub's lock.
dagster: $(INSTALLED)
	home="$$($(BIN)/python -m hub.instance)" && DAGSTER_HOME="$$home" $(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) demo bench .hub .pytest_cache
