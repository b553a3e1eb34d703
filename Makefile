# Two commands on a fresh machine (Python 3.10+ and make):
#   make run    set up .venv with the app and open the window on the bundled model
#   make test   set up .venv with the app, trainer and dev tools; run lint, types, import contracts, tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test check setup setup-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.app-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[train,dev]'
	touch $@ $(VENV)/.app-installed

setup: $(VENV)/.app-installed
setup-dev: $(VENV)/.dev-installed

run: setup
	$(BIN)/python -m shellgui.qtcheck
	$(BIN)/shellgui

check: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: check
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: setup-dev
	$(BIN)/python bench/bench_identify.py
	$(BIN)/python bench/bench_identify_memory.py
	$(BIN)/python bench/bench_catalog.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python -m pip install --quiet -e '.[bench]' && $(BIN)/python bench/bench_similar.py
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(BIN)/python bench/bench_gui.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
