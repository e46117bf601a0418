# The two README commands: `make lab` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Optional extras to install besides test+dev (CI adds `ray` for the distributed-study test).
EXTRAS ?= test,dev

.PHONY: venv lab test test-all lint format bench mutation docs clean

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/csl lab

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q --run-slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Mutation testing of the critical modules (cosmic-ray, in a scratch copy of the tree); long:
# MUTATION_ARGS="risk_rules --sample 100" narrows it. Kill rates: docs/TESTING.md.
MUTATION_ARGS ?=
mutation: $(STAMP)
	$(BIN)/python -m mutation $(MUTATION_ARGS)

# The documentation site (mkdocs.yml) into site/; --strict turns every warning into an error.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build site *.egg-info src/*.egg-info .pytest_cache .ruff_cache
