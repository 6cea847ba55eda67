# The two commands a newcomer needs: `make demo` and `make test`. Both create the virtual
# environment and install the project into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PERSONS ?= 5000

.PHONY: install demo test lint bench dagster clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/hub demo --persons $(PERSONS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/dagster definitions validate -w workspace.yaml

test: lint
	$(BIN)/pytest

dagster: $(INSTALLED)
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) demo .hub .pytest_cache
