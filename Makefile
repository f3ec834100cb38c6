# The two commands (README.md): `make book` and `make test`. Both create .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# torch pinned to the versions the course is tested with (other versions may download gigabytes)
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed
# quick mode: every chapter runs in about a minute on two CPU cores
export DCGAN_QUICK ?= 1
export PYTHONHASHSEED ?= 0

.PHONY: book test lint unit nbval student grading-kit clean browser chromium gpu-check gpu-check-dry gpu-train release

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check $(TORCH_PINS)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	# the notebooks' python3 kernel is this environment's interpreter
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (dcgan-course)" > /dev/null
	touch $(STAMP)

# onnxruntime-web for the in-browser generator (tools/generator_widget.py), from the npm registry
WIDGET_STAMP := widget/node_modules/.installed
$(WIDGET_STAMP): widget/package.json widget/package-lock.json
	@command -v npm > /dev/null || { echo "npm is missing: install Node.js 18 or later (the book's widget needs onnxruntime-web)"; exit 2; }
	npm ci --prefix widget --no-audit --no-fund --silent
	touch $(WIDGET_STAMP)

book: $(STAMP) $(WIDGET_STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is in _build/html/index.html"

# lint, unit tests, the GPU check's dry run, every chapter under nbval, the book in a browser.
# After the unit tests the other three run side by side, two at a time with one torch thread
# each: one at a time, a chapter or the book build kept only one of the two cores busy. Each
# one's output is printed together when it ends (--output-sync).
test: lint unit
	OMP_NUM_THREADS=1 $(MAKE) --no-print-directory -j2 --output-sync=target browser nbval gpu-check-dry

# on a lent GPU: one command, the stock image's python3 (torch, torchmetrics, tqdm; no venv,
# no network), about 7 minutes; the report goes to gpu-check/ (bench/RESULTS.md takes it in)
gpu-check:
	PYTHONPATH=. python3 -m dcgan_lib gpu-check --out $(or $(GPU_CHECK_OUT),gpu-check)

# on a lent GPU, after gpu-check, in the device time left: the shipped generators' recipes
# (data/train_checkpoints.sh) trained side by side for GPU_TRAIN_SECONDS and scored (issue 14);
# the best and last exports and report.md go to gpu-train/ (data/README.md takes them in);
# GPU_TRAIN_ARGS=--candidates trains data/train_candidates.sh's recipes instead
gpu-train:
	PYTHONPATH=. python3 tools/gpu_train.py --seconds $(or $(GPU_TRAIN_SECONDS),240) \
		--out $(or $(GPU_TRAIN_OUT),gpu-train) $(GPU_TRAIN_ARGS)

# the same phases on the CPU at toy sizes, in under two minutes: make test runs it
gpu-check-dry: $(STAMP)
	$(BIN)/python -m dcgan_lib gpu-check --dry --out _build/gpu-check-dry

# ruff: pyproject.toml for the library, tests and tools; chapters/ruff.toml (79 columns) for the notebooks
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# one worker per core (pytest-xdist), each test file in one worker, the longest files first
# (tests/conftest.py orders them). One torch thread everywhere, the processes the tests start
# included (the grading kit's kernels, the DDP ranks): two threads per process on two busy cores
# spent half the CPU time waiting (unit tests 473 s against 294 s with one, on two cores)
unit: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -q --ignore=tests/test_book_browser.py -n auto --dist loadfile --no-loadscope-reorder

nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 chapters -q

# the built book in headless Chromium (tests/test_book_browser.py); screenshots in _build/screenshots/
browser: book chromium
	$(BIN)/python -m pytest tests/test_book_browser.py -q

# Debian's Chromium for the browser test, installed when missing and we are root; else the test skips
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	    echo "Installing Chromium for the browser test (apt-get)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver > /dev/null) \
	      || echo "Could not install Chromium: the browser test will be skipped"; \
	  else echo "Chromium is missing and we are not root: the browser test will be skipped"; fi; \
	fi

# student notebooks: solution cells (tagged "solution") removed, in student/
student: $(STAMP)
	$(BIN)/python tools/make_student.py --source chapters --out student

# an nbgrader course in _build/grading-kit: the graded chapters, released with generate_assignment;
# grade collected submissions there with `nbgrader autograde dcgan` (tests/test_grading_kit.py)
grading-kit: $(STAMP)
	$(BIN)/python tools/grading_kit.py --out _build/grading-kit

# tag the version that every chapter's set-up cell installs on Colab (pyproject.toml's version);
# push the tag (git push origin vX.Y.Z) to publish it, then raise the version for what follows
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
release: $(STAMP)
	@test -z "$$(git status --porcelain)" || { echo "release: commit or stash your changes first"; exit 2; }
	$(BIN)/python tools/setup_cell.py
	@test -z "$$(git status --porcelain)" || { echo "release: the set-up cells were out of date; commit them and run make release again"; exit 2; }
	git tag -a v$(VERSION) -m "DCGAN course v$(VERSION)"
	@echo "tagged v$(VERSION): push it with git push origin v$(VERSION) (the book workflow publishes it)"

clean:
	rm -rf _build runs student widget/node_modules
