# Two commands for a fresh machine: `make run` and `make test`. Each creates the
# virtual environment and installs what it needs first (CPU torch before the
# rest, so pip never pulls a CUDA build).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH  ?= torch==2.13.0
CHROMIUM ?= /usr/bin/chromium
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet "$(TORCH)" -e ".[dev]"
	touch $(STAMP)

## run: build the warehouse from the sample corpus through the DVC pipeline
run: $(STAMP)
	$(BIN)/dvc repro
	$(BIN)/dvc metrics show

# Debian's Chromium, for the browser test of the report (playwright drives it; it downloads no browser)
$(CHROMIUM):
	if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium

## test: lint, type-check and run every test, slow ones included (the report's in headless Chromium)
test: $(STAMP) $(CHROMIUM) lint
	$(BIN)/python -m pytest --slow -q

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/ruff format --check pipeline tests bench
	$(BIN)/mypy

## bench: throughput, latency and peak memory of ingest, parse, classify and search (prints figures)
bench: $(STAMP)
	$(BIN)/python bench/bench_extract.py
	$(BIN)/python bench/bench_classify.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_pdf.py
	$(BIN)/python bench/bench_synth.py

## mutate: mutation testing of the pure text cores ([tool.mutmut] in pyproject.toml), from scratch, in at most 15 min
.PHONY: mutate
mutate: $(STAMP)
	rm -rf mutants
	timeout 900 $(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) corpus/interim warehouse reports test-artifacts .pytest_cache .mypy_cache .ruff_cache
