# The two entry points are `make run` and `make test`; each builds .venv itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQUESTS ?= 20
WORKERS ?= 3
SEED ?= 1

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml constraints.txt reference_system/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	# The reference system, a distribution of its own beside the harness.
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e reference_system
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/harness run --requests $(REQUESTS) --workers $(WORKERS) --seed $(SEED)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .hypothesis
