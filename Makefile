# The two commands of a fresh machine: `make example` (the main job) and `make test` (the plugin's own suite).
# Each creates or reuses a pinned virtualenv by itself: $(LLMOPS_CI_VENV) if set, else .venv (make VENV=... too).
LLMOPS_CI_VENV ?= .venv
VENV ?= $(LLMOPS_CI_VENV)
BIN := $(VENV)/bin
STAMP := $(VENV)/.llmops-installed

# offline and quiet: litellm's local price map, no model hub downloads
export LITELLM_LOCAL_MODEL_COST_MAP := True
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: example test venv clean-venv

example: $(STAMP)  ## the example suite: a RAG support assistant tested end to end, offline
	$(BIN)/python -m pytest example_suite --llmops-report=example-report.json
	$(BIN)/pytest-llmops validate example-report.json

test: $(STAMP)  ## the layering contracts, the size limits, then the plugin's own test suite
	$(BIN)/lint-imports
	$(BIN)/ruff check pytest_llmops
	$(BIN)/python -m pytest -n 2 tests

venv: $(STAMP)

# re-installs when the project's dependency files change; the CPU build of torch goes first (an unpinned torch
# would pull a CUDA build), then the project from its own files with pinned versions
$(STAMP): pyproject.toml requirements/ci-constraints.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c requirements/ci-constraints.txt -e '.[dev,local]'
	touch $@

clean-venv:
	rm -rf $(VENV)
