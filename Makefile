# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The web app (web/) is built with npm into the Python package, which serves it.
WEB_DEPS := web/node_modules/.installed
WEB_BUILD := src/feige/web/static/index.html
WEB_SOURCES := web/package.json web/package-lock.json web/index.html web/vite.config.ts \
	web/tsconfig.json $(shell find web/src web/public -type f 2>/dev/null)
NO_NPM := echo "npm not found: the web app is not built (Node.js 20 and npm are needed; see docs/web.md)"

.PHONY: install web run test lint typecheck weblint unit wheel clean

install: $(STAMP) web

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

web: $(WEB_BUILD)

$(WEB_DEPS): web/package-lock.json
	@if command -v npm >/dev/null; then \
		cd web && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else $(NO_NPM); fi

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SOURCES)
	@if command -v npm >/dev/null; then cd web && npm run build --silent; else $(NO_NPM); fi

run: install
	$(BIN)/feige serve --demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy --strict src/feige/domain src/feige/moderation src/feige/metrics src/feige/routing \
		src/feige/robot src/feige/enforcement
	$(BIN)/mypy src/feige

# The web app's own checks: ESLint, vue-tsc, and the protocol client's unit tests.
weblint: install
	cd web && npx eslint . && npx vue-tsc --noEmit -p tsconfig.json && npx vitest run

# Includes tests/browser: Playwright driving Debian's chromium against the built app.
# TESTS narrows the run (.ci/run's PostgreSQL pass runs only the tests that use a database).
TESTS ?= tests
unit: install
	$(BIN)/pytest $(TESTS)

test: lint typecheck weblint unit

# A wheel that carries the built web app: build the app first, then the package.
wheel: install
	test -f $(WEB_BUILD) || { echo "the web app is not built: make web needs npm"; exit 1; }
	$(BIN)/python -m pip wheel -q --no-deps -w dist .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache web/node_modules src/feige/web/static dist
