# Fresh machine, offline but for the package registries:
#   make demo   sets everything up, trains on a real corpus, embeds text
#   make test   sets everything up, passes the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
MODEL ?=
DEMO_DIR ?= demo_output

.PHONY: install demo test lint clean

install: $(VENV)/.installed

# Re-runs only when the constraints or the package metadata change.
$(VENV)/.installed: constraints.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24" -c constraints.txt
	$(PIP) install --quiet torch==2.14.1 torchvision==0.29.1 -c constraints.txt
	# allennlp's declared pins (torch<1.13, transformers<4.21) cannot install on Python 3.11:
	# install it alone, then its real runtime needs through setup.py, all at tested versions.
	$(PIP) install --quiet --no-deps allennlp==2.10.1 -c constraints.txt
	# compat mode: a path entry, so packages added later need no reinstall
	$(PIP) install --quiet -e ".[test,demo,openvino,onnx,int8]" -c constraints.txt --config-settings editable_mode=compat
	touch $@

demo: install
	$(VENV)/bin/declutr demo --output $(DEMO_DIR) $(if $(MODEL),--model $(MODEL),)

test: install
	$(PY) -m ruff check declutr tests scripts
	$(PY) -m ruff format --check declutr tests scripts
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(PY) -m pytest -q tests

lint: install
	$(PY) -m ruff check declutr tests scripts
	$(PY) -m ruff format --check declutr tests scripts

clean:
	rm -rf $(VENV) $(DEMO_DIR)

# The prepared GPU check (docs/performance.md, "On a GPU"): preflight in seconds, then embedding
# and AMP training throughput against sentence-transformers and a short real training; writes
# scripts/benchmarks/results/gpu_check_cuda.{json,log}. Options: GPU_CHECK_ARGS="--device cuda:1".
.PHONY: gpu-check
gpu-check: install
	$(PY) -m scripts.benchmarks.gpu $(GPU_CHECK_ARGS)
