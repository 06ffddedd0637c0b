# Two commands: `make run` (the whole platform) and `make test` (lint + the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# A local cluster started by `make run` uses Ray's token auth; the CLI needs to be told.
RAY_CLI := RAY_AUTH_MODE=token $(VENV)/bin

.PHONY: run test lint bench status stop install clean frontend cluster-secrets

# uv (from PyPI) makes a fresh clone's install take seconds; plain pip is the fallback.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv \
	  && $(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]' \
	  || $(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m deployments.optimize.warm_workers  # fills Numba's cache: no first-job compile
	touch $(STAMP)

install: $(STAMP)

# The web app: `npm ci` from the committed lock file when it changes, `vite build` into
# frontend/dist when a source changes (dist/index.html is the stamp).
FRONTEND_SRC := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
  frontend/index.html frontend/vite.config.js frontend/package.json
NODE_STAMP := frontend/node_modules/.ci-stamp
FRONTEND_BUILD := frontend/dist/index.html

$(NODE_STAMP): frontend/package-lock.json frontend/package.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(FRONTEND_BUILD): $(NODE_STAMP) $(FRONTEND_SRC)
	cd frontend && npm run --silent build
	touch $@

frontend: $(FRONTEND_BUILD)

run: $(STAMP) frontend
	$(PY) -m deployments.common.settings --check
	# A local Ray node running serve.yaml, every listener on HOST (default 127.0.0.1).
	$(PY) -m deployments.launcher

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint frontend
	$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP)
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev,bench]' \
	  || $(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench; rc=$$?; $(PY) -m bench.import || rc=1; exit $$rc

# The secrets `ray up cluster.yaml` needs, generated once into .env.cluster (mode 0600).
cluster-secrets:
	@test -f .env.cluster || (umask 077 && { \
	  echo "ACCESS_TOKEN=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')"; \
	  echo "REDIS_PASSWORD=$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(24))')"; \
	} > .env.cluster)
	@echo ".env.cluster holds ACCESS_TOKEN (give it to the traders) and REDIS_PASSWORD"

status: $(STAMP)
	$(RAY_CLI)/serve status

stop: $(STAMP)
	-$(RAY_CLI)/serve shutdown -y
	$(RAY_CLI)/ray stop
	$(PY) -m deployments.common.embedded_redis stop

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output frontend/dist frontend/node_modules
