# Two commands on a fresh machine: `make demo` and `make test`.
# The virtual environment is built once; on a machine without an NVIDIA GPU the
# CPU build of torch is installed first so that pip never pulls a multi-GB CUDA
# build (override with TORCH_SPEC=... or `make TORCH_SPEC= ...` to let pip choose).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo yes)
TORCH_SPEC ?= $(if $(HAS_GPU),,torch==2.13.0)
DEMO_OUT ?= demo_output
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast lint wheel-check bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then echo "installing $(TORCH_SPEC) (no GPU found)"; \
	  $(PY) -m pip install --quiet "$(TORCH_SPEC)"; fi
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/darkcontrol demo --out $(DEMO_OUT)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The default suite plus the slow reproduction checks, in parallel on all cores.
# The pytest script, not `python -m pytest`: the latter puts the repo root on sys.path,
# where `import envs` would load a second copy of darkcontrol.envs.
test: lint
	$(VENV)/bin/pytest -n auto -m "not gpu" $(PYTEST_ARGS) tests
	$(MAKE) wheel-check

test-fast: setup
	$(VENV)/bin/pytest -n auto $(PYTEST_ARGS) tests

# Build a wheel, install it in a fresh venv outside the repo, import every subpackage,
# and check the import-layering contract on the installed tree.
wheel-check: setup
	bash .ci/wheel_check.sh $(PY)

bench: setup
	OMP_NUM_THREADS=1 $(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info $(DEMO_OUT)
