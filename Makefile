# One entry point for developers and CI. `make test` and `make serve` set up
# everything they need: Debian packages (when root), the virtual environment and
# the package itself.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
APT_PACKAGES := pcscd vsmartcard-vpcd libpcsclite-dev pcsc-tools fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf fonts-noto-core chromium tesseract-ocr tesseract-ocr-vie postgresql redis-server

.PHONY: test test-all test-scale serve bench lint system-deps clean

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages (run as root or install them): $$missing" >&2; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml | system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# The suite starts pcscd + the virtual card itself; PostgreSQL is a throw-away cluster
# started here (the same API and store tests then also run against it) and stopped after.
test: system-deps $(STAMP)
	@pg=$$(bash .ci/postgres.sh start) || exit 1; eval "$$pg"; trap 'bash .ci/postgres.sh stop >/dev/null 2>&1' EXIT; \
	  $(BIN)/pytest -q

# Scale-out (tests/scale, ~2 min on 2 cores): PostgreSQL, Redis, a local Ray cluster with the
# Serve application, 3 API replicas behind a round-robin balancer, 50 concurrent sessions,
# an API replica and a Ray replica killed mid-run. Kept out of `make test`; CI runs both.
test-scale: system-deps $(STAMP)
	@pg=$$(bash .ci/postgres.sh start) || exit 1; eval "$$pg"; trap 'bash .ci/postgres.sh stop >/dev/null 2>&1' EXIT; \
	  $(BIN)/pytest -q -m scale tests/scale

test-all: system-deps $(STAMP)
	@pg=$$(bash .ci/postgres.sh start) || exit 1; eval "$$pg"; trap 'bash .ci/postgres.sh stop >/dev/null 2>&1' EXIT; \
	  $(BIN)/pytest -q -m ''

serve: $(STAMP)
	$(BIN)/ekyc serve

bench: system-deps $(STAMP)
	$(BIN)/ekyc bench run --out bench-out

lint: $(STAMP)
	$(BIN)/ruff check ekyc readers models api benchmarks tests
	$(BIN)/ruff format --check ekyc readers models api benchmarks tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
