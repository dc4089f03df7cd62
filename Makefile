# `make demo` and `make test` each do all set-up on a fresh machine, then run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.ambipose-installed

.PHONY: demo test setup bench clean

$(STAMP): pyproject.toml scripts/install_torch_cpu.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	bash scripts/install_torch_cpu.sh $(PY)
	$(PY) -m pip install -q -e ".[test,blender]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ambipose demo --out out/demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/ambipose bench --json out/bench.json

clean:
	rm -rf $(VENV) out .pytest_cache
