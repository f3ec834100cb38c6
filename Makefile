# The two commands (README.md): `make book` and `make test`. Both create .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# torch from the local wheel cache; other versions download gigabytes (DEVELOPERS.md)
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed
# quick mode: every chapter runs in about a minute on two CPU cores
export DCGAN_QUICK ?= 1
export MPLBACKEND ?= Agg
export PYTHONHASHSEED ?= 0

.PHONY: book test unit nbval student clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check $(TORCH_PINS)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	# the notebooks' python3 kernel is this environment's interpreter
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (dcgan-course)" > /dev/null
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is in _build/html/index.html"

test: unit nbval

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q

nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 chapters -q

clean:
	rm -rf _build runs student
