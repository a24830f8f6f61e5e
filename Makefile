# Risk Atlas: `make run` starts the server on the default catalog, `make test` runs the suite.
# Both set everything up first on a fresh machine (virtualenv, install, migrations).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install system browser run test test-fast lint bench docs clean
# Playwright drives Debian's chromium (/usr/bin/chromium): it must never download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's packages the product and its tests use, installed by `make run` / `make test` (or
# `make system`) when one is missing and we are root or may sudo; otherwise what needs them
# skips with the reason shown (and fails with CI=true): chromium for the browser tests
# (tests/web/browser), Pango for WeasyPrint's PDF briefing packs, DejaVu fonts (Latin and
# Cyrillic), poppler-utils (pdftotext, pdftoppm) for the tests that read the PDFs.
SYSTEM_PACKAGES := chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 poppler-utils
system:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftotext >/dev/null \
	    || ! ldconfig -p | grep -q libpangoft2-1.0; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "system packages missing and no root: what needs them will be skipped"; exit 0; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install \
	    -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null \
	    || echo "could not install $(SYSTEM_PACKAGES): what needs them will be skipped"; \
	fi

browser: system

# Public mode lets a browser without an account read the TLP:CLEAR default catalog.
run: install system
	$(BIN)/riskatlas init
	RISKATLAS_PUBLIC_MODE=$${RISKATLAS_PUBLIC_MODE:-true} $(BIN)/riskatlas serve

test: install system
	$(BIN)/python -m pytest -q -n auto

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# The documentation site into site/ (warnings are errors; it works offline): `$(BIN)/mkdocs
# serve` previews it at http://127.0.0.1:8000.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: install
	$(BIN)/python benchmarks/catalog_bench.py

clean:
	rm -rf $(VENV) site riskatlas.db riskatlas.db-wal riskatlas.db-shm
