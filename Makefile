# Tickerlake: the README's verbs. Everything installs into .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_FLAGS ?= --quiet --disable-pip-version-check
# A download that arrives damaged (a wheel whose sha256 is not the index's, seen once in CI) is tried again,
# up to three times; a real resolution error fails the same way three times and stops the build.
PIP_INSTALL = echo "pip install $(1)"; for try in 1 2 3; do $(PY) -m pip install $(PIP_FLAGS) $(1) && exit 0; \
	echo "pip install failed (try $$try of 3)" >&2; [ $$try = 3 ] || sleep $$((try * 5)); done; exit 1

.PHONY: install install-dev run test bench lint format migrate clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(call PIP_INSTALL,-r requirements.txt)
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	@$(call PIP_INSTALL,-r requirements-dev.txt)
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

migrate: install
	$(PY) manage.py migrate --noinput

run: install migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin --token-file $${TICKERLAKE_VAR_DIR:-var}/admin_token
	exec $(PY) bin/run.py

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev
	$(PY) bench/run.py $(BENCH_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $${TICKERLAKE_VAR_DIR:-var}/test $${TICKERLAKE_VAR_DIR:-var}/broker $${TICKERLAKE_VAR_DIR:-var}/cache
