# The README's commands. `make demo` and `make test` create the environment when missing.
PYTHON_VERSION := $(shell cat .python-version)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CLV_STAMP := $(VENV)/.installed-clv

.PHONY: demo test test-fast lint format bench profile notebooks clean-results env

$(VENV)/bin/python:
	@if command -v pyenv >/dev/null 2>&1 && pyenv prefix $(PYTHON_VERSION) >/dev/null 2>&1; then \
		"$$(pyenv prefix $(PYTHON_VERSION))/bin/python" -m venv $(VENV); \
	elif command -v python3.12 >/dev/null 2>&1; then \
		python3.12 -m venv $(VENV); \
	else \
		echo "error: Python 3.12 not found (install it, or pyenv install $(PYTHON_VERSION))" >&2; exit 2; \
	fi

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# The optional customer-base models (pymc-marketing), for `make test` and `make notebooks`;
# `make demo` and `make env` stay without them.
$(CLV_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,clv]"
	touch $(CLV_STAMP)

env: $(STAMP)

demo: $(STAMP)  ## compare the baseline with two alternatives and print the table
	$(VENV)/bin/cxm compare scenarios/baseline.yaml scenarios/service_excellence.yaml \
		scenarios/invest_design.yaml --out results/demo --overwrite

test: $(CLV_STAMP)  ## the whole test suite
	$(PY) -m pytest -q

test-fast: $(STAMP)  ## the quick tier: every test not marked slow (under a minute)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check sim tests tools
	$(VENV)/bin/ruff format --check sim tests tools

format: $(STAMP)
	$(VENV)/bin/ruff format sim tests tools
	$(VENV)/bin/ruff check --fix sim tests tools

bench: $(STAMP)  ## customer-months per second, 100,000 customers x 60 months
	$(VENV)/bin/cxm bench --customers 100000 --months 60

profile: $(STAMP)  ## where the time goes: phases of a small and a big run, and a cProfile, in results/profile
	$(VENV)/bin/cxm bench --profile results/profile --overwrite

notebooks: $(CLV_STAMP)  ## every notebook at full size, default parameters, rendered to HTML with an index
	$(VENV)/bin/cxm notebooks --out results/notebooks --overwrite

clean-results:
	find results -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
