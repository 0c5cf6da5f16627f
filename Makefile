# Two commands run everything: `make run` and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres bench chaos fuzz openapi migrate lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

## Start gateway, the five services, the console and the WeChat (and WeChat Pay) stand-in on loopback (SQLite under ./data).
run: $(STAMP)
	$(PY) scripts/run.py

## The whole suite, on SQLite (and on PostgreSQL when TEST_DATABASE_URL is set).
test: $(STAMP)
	$(PY) -m pytest

## Schemathesis at length through the real gateway: every operation × every role with 100
## positive and negative examples, and 50 stateful workflows per role; prints the case count.
## (`make test` runs the same module with 3 examples.) On PostgreSQL too with TEST_DATABASE_URL.
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} FUZZ_STATEFUL_EXAMPLES=$${FUZZ_STATEFUL_EXAMPLES:-50} \
	FUZZ_MODES=positive,negative $(PY) -m pytest tests/e2e/test_fuzz_e2e.py -s -p no:logging

## Apply every service's migrations to the configured databases.
migrate: $(STAMP)
	$(PY) -m services.common.migrations upgrade

## Regenerate miniprogram-api.yaml from the code.
openapi: $(STAMP)
	$(PY) scripts/openapi.py > miniprogram-api.yaml

## Benchmarks: print figures; not part of `make test`.
bench: $(STAMP)
	$(PY) -m bench

## R1 in full: 10,000 events through SIGKILLed dispatcher and receiver processes.
chaos: $(STAMP)
	$(PY) -m bench.chaos --events 10000 --kills 10

## ruff and mypy (config in pyproject.toml), clean on every package; .ci/run runs it.
lint: $(STAMP)
	$(VENV)/bin/ruff check services gateway wechat_standin console tests scripts bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
