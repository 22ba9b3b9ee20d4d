# Acquis — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
HOST ?= 127.0.0.1
PORT ?= 5000
export HOST PORT  # the app's BASE_URL follows them when it is not set
LANGS := fr en es

.PHONY: run test test-sqlite test-postgres lint format venv dev-deps install migrate seed frameworks \
        i18n-extract i18n-update i18n-compile i18n-check clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv install: $(VENV)/.installed
dev-deps: $(VENV)/.dev-installed

i18n-compile: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d translations --statistics

i18n-extract: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F translations/babel.cfg -k _l -k lazy_gettext -k pgettext:1c,2 \
	  --ignore-dirs ".*" --no-location --sort-output --project=Acquis --copyright-holder="Acquis" -o translations/messages.pot .

i18n-update: i18n-extract
	for lang in $(LANGS); do \
	  if [ -f translations/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(VENV)/bin/pybabel update --no-fuzzy-matching -i translations/messages.pot -d translations -l $$lang; \
	  else \
	    $(VENV)/bin/pybabel init -i translations/messages.pot -d translations -l $$lang; \
	  fi; \
	done
	$(PY) -m app.core.i18n_tools fill-english translations/en/LC_MESSAGES/messages.po

i18n-check: $(VENV)/.installed
	$(PY) -m app.core.i18n_tools check translations

migrate: $(VENV)/.installed i18n-compile
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) frameworks import competencies
	$(FLASK) demo seed

run: seed
	@echo "Acquis is serving on http://$(HOST):$(PORT) — stop with Ctrl+C."
	$(FLASK) run --host $(HOST) --port $(PORT)

# The suite runs on SQLite; when TEST_DATABASE_URL is set it runs again on PostgreSQL, browser tests included.
test: $(VENV)/.dev-installed i18n-compile
	$(VENV)/bin/ruff check .
	$(PY) -m app.core.i18n_tools check translations
	env -u TEST_DATABASE_URL $(PY) -m pytest -m "not browser" -q
	if [ -n "$$TEST_DATABASE_URL" ]; then $(PY) -m pytest -q; else $(PY) -m pytest -m browser -q; fi

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check app tests

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff format app tests
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
	find translations -name '*.mo' -delete
