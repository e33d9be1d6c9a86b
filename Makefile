# rmmhub: `make run` starts the hub, `make test` runs every check. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: agent-dist run test install install-dev assets system-deps lint typecheck imports pytest clean bench test-repeat

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip setuptools wheel

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed assets

install-dev: $(VENV)/.installed-dev assets

ui/node_modules/.installed: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: ui/node_modules/.installed

# A random secret key on first run; keep .env out of version control.
.env:
	@echo "RMMHUB_SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')" > .env
	@echo "created .env with a random RMMHUB_SECRET_KEY"

# The single-file Linux agent (PyInstaller, cached by agent source hash) and uv per platform.
agent-dist: $(VENV)/.installed
	$(VENV)/bin/rmmhub agent stage

run: install .env agent-dist
	$(VENV)/bin/rmmhub serve --with-local-agent

# Debian packages the tests drive for real (browser, VNC server, shell linting).
SYSTEM_PACKAGES := chromium chromium-driver xvfb x11vnc x11-utils shellcheck
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy hub policies connectors native_rmm relay ui agent

imports: $(VENV)/.installed-dev
	$(VENV)/bin/lint-imports

# The suite runs on PYTEST_WORKERS pytest-xdist workers, a test file per worker at a time (its module fixtures
# built once); each worker has its own databases, port block and Redis channels (tests/conftest.py, tests/ports.py).
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile
pytest: install-dev system-deps agent-dist
	$(PY) -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test: install-dev system-deps lint typecheck imports pytest

# The whole suite N times in a row on SQLite and PostgreSQL (not part of CI): proves it does not flake and
# that nothing one run leaves behind changes the next. `make test-repeat N=5`; logs in tests/artifacts/repeat/.
N ?= 5
REPEAT_DATABASE_URL ?= $(or $(RMMHUB_TEST_DATABASE_URL),postgresql+asyncpg://postgres@127.0.0.1:5432/test)
REPEAT_REDIS_URL ?= $(or $(RMMHUB_TEST_REDIS_URL),redis://127.0.0.1:6379/0)
test-repeat: install-dev system-deps agent-dist
	@mkdir -p tests/artifacts/repeat; passed=0; \
	for i in $$(seq 1 $(N)); do \
		log=tests/artifacts/repeat/run-$$i.log; \
		if RMMHUB_TEST_DATABASE_URL=$(REPEAT_DATABASE_URL) RMMHUB_TEST_REDIS_URL=$(REPEAT_REDIS_URL) \
			$(PY) -m pytest -q $(PYTEST_PARALLEL) $(PYTEST_ARGS) > $$log 2>&1; then passed=$$((passed + 1)); fi; \
		echo "run $$i of $(N): $$(tail -n 1 $$log)"; \
	done; \
	echo "test-repeat: $$passed of $(N) full runs passed (SQLite and PostgreSQL)"; \
	[ $$passed -eq $(N) ]

# Every benchmark in turn (the names come from hub.bench.BENCHES); each ends with its own JSON line.
bench: install
	@benches=$$($(PY) -c 'from hub.bench import BENCHES; print(*BENCHES)') || exit 1; \
	for b in $$benches; do $(VENV)/bin/rmmhub bench $$b || exit 1; done

clean:
	rm -rf $(VENV) ui/node_modules tests/artifacts .pytest_cache .mypy_cache .ruff_cache
