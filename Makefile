# Two commands: `make book` builds the site, `make test` runs every test.
# Both create .venv from requirements.txt first (and reinstall when it changes).

SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
NODE_STAMP := node_modules/.installed
PORT ?= 8000

# The first interpreter on PATH that is Python 3.11 or 3.12 (Jupyter Book 1 supports them).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then \
	    echo $$p; break; fi; done)

.PHONY: help book student test serve clean bench venv node check-python

help:
	@echo "make book    set up .venv and build the site into _build/html"
	@echo "make student build the student edition (no solutions) into _build/student/html"
	@echo "make test    set up .venv and run every test (package, chapters, build)"
	@echo "make serve   serve _build/html on http://127.0.0.1:$(PORT)/"
	@echo "make bench   print the speed benchmark and chapter execution times"
	@echo "make clean   remove _build, caches, .venv and node_modules"

check-python:
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then \
	  echo "error: this book needs Python 3.11 or 3.12 (Jupyter Book 1 supports them)."; \
	  echo "       Found: $$($(or $(PYTHON),python3) --version 2>/dev/null || echo '$(or $(PYTHON),python3), which does not run')."; \
	  echo "       Install one of them, or run: make PYTHON=/path/to/python3.12 book"; \
	  exit 1; fi

# Rebuild the virtual environment from scratch whenever requirements.txt (or the
# package metadata) changes, so that a dependency removed from the file is removed
# from .venv too; the stamp records that the install finished.
$(STAMP): requirements.txt code/pyproject.toml | check-python
	@echo "venv: creating $(VENV) from scratch with $(PYTHON) ($$($(PYTHON) --version))"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

# The Node tools (Temml renders the maths to MathML at build time, in STIX Two Math; axe-core and Lighthouse
# audit the pages in the browser tests), exactly as package-lock.json pins them.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "error: the build needs Node.js 18 or newer with npm (apt install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(NODE_STAMP)

venv: $(STAMP)

node: $(NODE_STAMP)

book: $(STAMP) $(NODE_STAMP)
	$(PY) tools/build.py
	@echo "The site is in _build/html (make serve to read it)."

student: $(STAMP) $(NODE_STAMP)
	$(PY) tools/build.py --student

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest

serve:
	@test -f _build/html/index.html || { echo "no site yet: run make book"; exit 1; }
	@echo "Serving the book at http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

bench: $(STAMP) $(NODE_STAMP)
	$(PY) tools/bench.py

clean:
	rm -rf _build .pytest_cache $(VENV) node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find code -name '*.egg-info' -type d -prune -exec rm -rf {} +
