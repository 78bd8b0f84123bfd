# Two commands for readers and contributors (see README.md):
#   make book      build the HTML book, executing every chapter
#   make test      gdcore tests, nbval (twice: as is and with perturbed floating
#                  point), strict build of the stored outputs, browser tests
# and two for chapter authors:
#   make execute   re-execute every chapter in place, then regenerate the Colab edition
#   make colab     regenerate the Colab edition (colab/NN_name.ipynb) only

SHELL  := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JB     := $(VENV)/bin/jupyter-book
KERNEL := python3
# Per-cell limit in seconds, the same as execute.timeout in _config.yml.
CELL_TIMEOUT := 120
# Live-widget cells carry the tag `skip-execution`, which the book build's
# executor (nbclient) honours: nbclient sometimes waits for a widget cell's
# reply until its timeout (jupyter/nbclient#312), and the static page removes
# that output anyway. Storing outputs runs every cell, so the stored notebook
# shows the explorer in Jupyter and nbval still executes it.
NEVER_SKIP := --ExecutePreprocessor.skip_cells_with_tag=store-every-output
# Chapter notebooks in reading order: make's $(sort) orders the NN_ prefixes
# ($(wildcard) alone promises no order).
CHAPTERS = $(sort $(wildcard chapters/[0-9][0-9]_*.ipynb))
NBVAL  = $(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg
# Floating point as on another machine: OpenBLAS's oldest x86-64 kernels,
# NumPy's SIMD dispatch off (NumPy >= 2.4 names the groups; older names only
# raise an ImportWarning), torch without AVX, one thread. A printed digit that
# changes under these settings depends on rounding and breaks on some reader's
# machine.
PERTURBED := OPENBLAS_CORETYPE=Prescott \
  NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR" \
  ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1

# Kernels named "python3" must resolve to the venv's Python, not to a
# kernelspec installed elsewhere for the user.
export JUPYTER_PREFER_ENV_PATH := 1

.PHONY: book test test-gdcore test-notebooks test-perturbed test-build test-browser \
        execute colab clean venv

# ---------------------------------------------------------------- environment
# The stamp is newer than both inputs exactly when the venv is up to date.
$(STAMP): requirements.txt pyproject.toml
	@if ! $(PY) -m pip --version >/dev/null 2>&1; then \
	  echo ">>> creating $(VENV) with $$($(PYTHON) --version 2>&1)"; \
	  $(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is needed (set PYTHON=...)")'; \
	  rm -rf $(VENV); \
	  $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	    echo "python3 -m venv failed; on Debian/Ubuntu: apt-get install python3-venv" >&2; exit 1; }; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet -e .
	$(PY) -c 'import gdcore, torch, numpy, matplotlib, ipywidgets, nbval, sphinx_exercise'
	touch $(STAMP)

venv: $(STAMP)

# ----------------------------------------------------------------------- book
book: $(STAMP)
	$(JB) build . --all -W -n --keep-going
	@echo
	@echo "Open the book: $(CURDIR)/_build/html/index.html"

# ---------------------------------------------------------------------- tests
# Each chapter is executed twice in all (nbval as is, nbval perturbed); the
# build renders the outputs nbval has just checked, and the browser tests read
# that build.
test: $(STAMP)
	$(MAKE) --no-print-directory test-gdcore
	$(MAKE) --no-print-directory test-notebooks
	$(MAKE) --no-print-directory test-perturbed
	$(MAKE) --no-print-directory test-build
	$(MAKE) --no-print-directory test-browser
	@echo
	@echo "All tests passed."

# gdcore unit and property tests, book-frame and Colab-edition checks.
test-gdcore: $(STAMP)
	$(PY) -m pytest tests/ -m "not browser"

# Re-run every chapter and compare with its stored outputs. Exit status 5
# ("no tests collected") is a failure too: the chapters must be there.
test-notebooks: $(STAMP)
	$(NBVAL) $(CHAPTERS)

# The same under perturbed floating point; first prove that NumPy accepts the
# settings (an unknown feature name is only an ImportWarning).
test-perturbed: $(STAMP)
	$(PERTURBED) $(PY) -W error::ImportWarning -c "import numpy"
	$(PERTURBED) $(NBVAL) $(CHAPTERS)

# The book from scratch, strictly (any Sphinx warning fails), rendering the
# stored outputs without executing them again (BOOK_EXECUTE: _ext/offline_book.py).
test-build: $(STAMP)
	BOOK_EXECUTE=off $(JB) build . --all -W -n --keep-going

# Headless Chromium on the built book, served from 127.0.0.1 with every other
# host unreachable (skipped, saying how to enable them, without chromium).
test-browser: $(STAMP)
	$(PY) -m pytest tests/test_browser.py -m browser

# ------------------------------------------------------------- for authors
# Widget state is not stored: the book would load CDN scripts for it, and
# the explorers need a live kernel anyway.
execute: $(STAMP)
	@test -n "$(CHAPTERS)" || { echo "no chapters/NN_*.ipynb to execute" >&2; exit 1; }
	cd chapters && for nb in $(notdir $(CHAPTERS)); do \
	  echo ">>> executing $$nb"; \
	  ../$(PY) -m jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.kernel_name=$(KERNEL) \
	    --ExecutePreprocessor.timeout=$(CELL_TIMEOUT) \
	    --ExecutePreprocessor.store_widget_state=False $(NEVER_SKIP) \
	    "$$nb"; \
	done
	$(MAKE) --no-print-directory colab

# The Colab edition, generated from the chapters (see _ext/colab_edition.py).
colab: $(STAMP)
	$(PY) _ext/colab_edition.py

clean:
	rm -rf _build .pytest_cache .hypothesis tests/screenshots
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -type d -name .ipynb_checkpoints -prune -exec rm -rf {} +
