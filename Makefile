# rmmhub: `make run` starts the hub, `make test` runs every check. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: agent-dist run test install install-dev assets system-deps lint typecheck imports pytest clean bench

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
SYSTEM_PACKAGES := chromium chromium-driver xvfb x11vnc shellcheck
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

pytest: install-dev system-deps agent-dist
	$(PY) -m pytest $(PYTEST_ARGS)

test: install-dev system-deps lint typecheck imports pytest

bench: install
	$(VENV)/bin/rmmhub bench all

clean:
	rm -rf $(VENV) ui/node_modules tests/artifacts .pytest_cache .mypy_cache .ruff_cache
