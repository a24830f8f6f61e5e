# Risk Atlas: `make run` starts the server on the default catalog, `make test` runs the suite.
# Both set everything up first on a fresh machine (virtualenv, install, migrations).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Public mode lets a browser without an account read the TLP:CLEAR default catalog.
run: install
	$(BIN)/riskatlas init
	RISKATLAS_PUBLIC_MODE=$${RISKATLAS_PUBLIC_MODE:-true} $(BIN)/riskatlas serve

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/catalog_bench.py

clean:
	rm -rf $(VENV) riskatlas.db riskatlas.db-wal riskatlas.db-shm
