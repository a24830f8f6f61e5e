# Risk Atlas: `make run` starts the server on the default catalog, `make test` runs the suite.
# Both set everything up first on a fresh machine (virtualenv, install, migrations).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install browser run test test-fast lint bench clean
# Playwright drives Debian's chromium (/usr/bin/chromium): it must never download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (tests/web/browser), installed by `make test` (or
# `make browser`) when missing and we are root or may sudo; otherwise those tests skip with the
# reason shown (and fail with CI=true).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "chromium missing and no root: the browser tests will be skipped"; exit 0; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install \
	    -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
	    || echo "could not install chromium: the browser tests will be skipped"; \
	fi

# Public mode lets a browser without an account read the TLP:CLEAR default catalog.
run: install
	$(BIN)/riskatlas init
	RISKATLAS_PUBLIC_MODE=$${RISKATLAS_PUBLIC_MODE:-true} $(BIN)/riskatlas serve

test: install browser
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/catalog_bench.py

clean:
	rm -rf $(VENV) riskatlas.db riskatlas.db-wal riskatlas.db-shm
