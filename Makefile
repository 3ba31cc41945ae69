# The two commands of the README. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Install, apply migrations, publish the demo comparison, serve on 127.0.0.1:8000.
run: $(BIN)/python
	$(BIN)/pip install --quiet --editable .
	$(BIN)/vswidget serve --demo

# Install the test dependencies, lint, type-check, run the whole suite.
test: $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[test]'
	$(MAKE) lint
	$(BIN)/pytest

lint:
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy
