# Two routine tasks (README): `make conform` runs the main job, `make test` runs the tests.
# Each creates .venv and installs the project from its own files first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: conform test vectors trace lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

conform: $(STAMP)
	$(BIN)/strata conform --report-dir reports

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

vectors: $(STAMP)
	$(BIN)/strata vectors generate

trace: $(STAMP)
	$(BIN)/strata spec trace

lint: $(STAMP)
	$(BIN)/strata spec lint
	$(BIN)/ruff check reference conformance tools tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) reports
