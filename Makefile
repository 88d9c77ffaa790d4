# The two commands that matter (see README): `make demo` and `make test`.
SHELL := /bin/bash
PY    := .venv/bin/python
TF    := .tools/bin/terraform
SIZES ?= 1000
REGIONS ?= 3
LATENCY_MS ?= 50
MODES ?= stored,metric_math
STEADY_RUNS ?= 12
BENCH_FLAGS ?=
export CHECKPOINT_DISABLE := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test test-fast lint validate fmt bench clean

setup: ## Install everything (virtualenv, pinned tools, offline Terraform toolchain); idempotent
	@tools/bootstrap.sh

demo: setup ## Local deployment + demo against the local AWS on 127.0.0.1
	$(PY) -m tools.demo

# End-to-end tests one at a time (each drives Terraform and simulated days), then the rest on
# two workers (pytest-xdist, one local AWS per worker): every test runs exactly once.
test: setup ## The whole test suite (unit, Terraform, end-to-end, lint)
	$(PY) -m pytest -m e2e
	$(PY) -m pytest -m "not e2e" -n 2

test-fast: setup ## Unit tests only (no Terraform)
	$(PY) -m pytest -m "not e2e"

lint: setup ## ruff, mypy and terraform fmt
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(TF) fmt -check -recursive -diff .

validate: setup ## terraform validate of the module and modules/lambda-function (staged copies, offline)
	$(PY) -m tools.validate

fmt: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
	$(TF) fmt -recursive .

bench: setup ## Fleet-scale benchmark: cold, an hour of steady runs, cold after a previous container, per cost mode; targets (BENCH_FLAGS=--strict fails on one)
	$(PY) -m tools.bench --sizes $(SIZES) --regions $(REGIONS) --latency-ms $(LATENCY_MS) \
		--modes $(MODES) --steady-runs $(STEADY_RUNS) $(BENCH_FLAGS)

clean:
	rm -rf .build examples/*/.build examples/*/.terraform demo-output bench-output
