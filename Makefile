# The two commands a newcomer needs: `make demo` and `make test`. Both create the virtual
# environment and install the project into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PERSONS ?= 5000

BENCH_PERSONS ?= 100000

.PHONY: install demo test lint bench dagster clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/hub demo --persons $(PERSONS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/dagster definitions validate -w workspace.yaml

test: lint
	$(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/hub bench --persons $(BENCH_PERSONS)

dagster: $(INSTALLED)
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) demo bench .hub .pytest_cache
