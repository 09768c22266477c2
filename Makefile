# The two commands a newcomer needs: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := common $(wildcard services/*) gateway
STAMP := $(VENV)/.installed

.PHONY: venv infra demo demo-keep test lint unit integration bench bench-tools clean

venv: $(STAMP)

$(STAMP): requirements.txt $(wildcard */pyproject.toml services/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==26.3
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps $(foreach p,$(PACKAGES),$(if $(wildcard $(p)/pyproject.toml),-e $(p)))
	touch $(STAMP)

# Starts RabbitMQ/PostgreSQL when this user may (root, CI); otherwise says how to.
infra:
	@scripts/infra.sh ensure

demo: venv infra
	$(PY) -m demo.run

demo-keep: venv infra
	$(PY) -m demo.run --keep-running

test: venv infra lint
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check --quiet .

unit: venv
	$(PY) -m pytest -m "not integration"

integration: venv infra
	$(PY) -m pytest -m integration

# Benchmarks (bench/RESULTS.md): minutes of load on every core, so never part of `make test`.
bench: venv infra bench-tools
	$(PY) -m bench.run

# wrk drives the load; pgbench (PostgreSQL's client package) is the database's baseline.
bench-tools:
	@command -v wrk >/dev/null || apt-get install -y --no-install-recommends wrk
	@command -v pgbench >/dev/null || apt-get install -y --no-install-recommends postgresql-client

clean:
	rm -rf $(VENV) var
