# Every target does its own set-up: a fresh clone needs only Python, pip and make.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp

.PHONY: install demo test lint format docs benchmarks spec-check clean

# PYTHONWARNINGS: setuptools warns at every editable install (a note on import
# precedence that does not apply here); no other warning is silenced.
$(STAMP): pyproject.toml worker-demo/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install --quiet -e '.[tests,image,zstd,dev,docs]' -e ./worker-demo
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python demo/run.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

# Needs the specification beside the repository (../shared/spec), as in CI:
# the snapshot the tests read and the bundled OpenAPI document are up to date.
spec-check: $(STAMP)
	$(BIN)/python scripts/spec_snapshot.py --check
	$(BIN)/python scripts/build_openapi.py --check

benchmarks: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) site .pytest_cache
