# binforge: the two commands are `make demo` (run the main job) and `make test` (every test).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export BINFORGE_TRACE_DIR ?= $(abspath ../shared/traces)

.PHONY: demo test lint typecheck unit bench results clean e2e-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

## demo: create the environment and run `binforge evolve` on the embedded default
demo: $(STAMP)
	$(BIN)/binforge evolve

## test: lint, type-check and run every test tier
test: lint typecheck e2e-deps unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy binforge cluster_traces simulator heuristics k8s_plugin

unit: $(STAMP) e2e-deps
	$(BIN)/pytest -p no:cacheprovider tests; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

## e2e-deps: build etcd, kube-apiserver and kube-scheduler once into a cache (see docs/e2e.md)
e2e-deps:
	scripts/e2e-deps.sh

## bench: run the benchmarks and print a table
bench: $(STAMP)
	$(BIN)/python -m benchmarks

## results: re-evaluate the shipped winners and baselines, rewrite docs/results.md's tables and plots
results: $(STAMP)
	$(BIN)/python -m benchmarks.results

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
