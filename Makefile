# vnsearch: `make run` to search the demo corpus, `make test` to check everything.
VENV    := .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
PYTHON3 ?= python3
HOST    ?= 127.0.0.1
PORT    ?= 8000
DEMO    := demo/articles.jsonl demo/pages demo/feeds

.PHONY: install install-test run test lint typecheck pytest bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	scripts/os-packages.sh base
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e .
	touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed
	scripts/os-packages.sh test
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

run: install
	$(BIN)/vnsearch index --if-empty $(DEMO)
	$(BIN)/vnsearch serve --host $(HOST) --port $(PORT)

test: install-test lint typecheck pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy search indexer web cli

pytest:
	$(BIN)/pytest -q

bench: install-test
	$(PY) -m pip install -q --disable-pip-version-check -e '.[bench]'
	$(PY) bench/index.py
	$(PY) bench/query.py

clean:
	rm -rf $(VENV) index_data/* .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
