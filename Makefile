# Two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck check rules-check clean lock

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/monitor db upgrade
	$(BIN)/monitor run

test: $(STAMP)
	$(BIN)/monitor rules check
	$(BIN)/monitor rules test
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

check: lint test

# Re-pin after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) monitor.db monitor.db-wal monitor.db-shm
