# prodsql — the two set-up commands on a fresh machine are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: test demo lint typecheck unit integration system install bench lock clean

test: system install lint typecheck
	$(BIN)/pytest

demo:
	bash scripts/ensure-system.sh --no-test-tools
	$(MAKE) --no-print-directory install
	$(BIN)/prodsql demo

system:
	bash scripts/ensure-system.sh

install: $(STAMP)

$(STAMP): pyproject.toml requirements/lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

integration: system install
	$(BIN)/pytest tests/integration

bench: system install
	$(BIN)/python benchmarks/run.py

# Re-pin every dependency (runtime and test) after changing pyproject.toml.
lock:
	rm -rf /tmp/prodsql-lock && $(PYTHON) -m venv /tmp/prodsql-lock
	/tmp/prodsql-lock/bin/pip install --quiet -e '.[test]'
	/tmp/prodsql-lock/bin/pip freeze --all --exclude-editable | grep -v -E "^(prodsql|pip)==" > requirements/lock.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist src/*.egg-info
