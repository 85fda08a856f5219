# The two commands of the README:
#   make demo   sets everything up and runs `phasm-perf rank` on an example program
#   make test   sets everything up and runs the test suite (and builds the playbook with --strict)
# and: make fuzz (every reader fuzzed, 10,000 cases each), make test-pythons (the suite on CPython 3.10-3.13)
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip
STAMP   = $(VENV)/.installed
# extras installed for development and CI; torch is pinned to the CPU build by constraints/ci.txt
EXTRAS ?= test,docs,gpu,bench,dist,native,track,search,jit

.PHONY: setup system-deps examples demo test test-fast test-docs test-docs-slow test-docs-outputs-slow docs-outputs notebooks test-pythons fuzz docs clean

$(STAMP): pyproject.toml constraints/ci.txt
	$(PYTHON) -m venv $(VENV)
	bash scripts/retry.sh 3 30 $(PIP) install -q --upgrade pip
	bash scripts/retry.sh 3 60 $(PIP) install -q --resume-retries 20 -c constraints/ci.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

# the compiled example programs (g++ comes with system-deps)
examples: system-deps
	@if command -v $${CXX:-g++} >/dev/null; then $(MAKE) -s -C examples/shower && $(MAKE) -s -C examples/fieldmap; \
	else echo "examples: no C++ compiler, examples/shower and examples/fieldmap not built (their tests skip; install g++)" >&2; fi

setup: $(STAMP) system-deps examples

demo: setup
	$(VENV)/bin/phasm-perf rank examples/particles.py

test: setup
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q tests
	$(MAKE) --no-print-directory test-docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q -d $(VENV)/site

# every bash and python block of README.md and playbook/*.md, page by page in a fresh folder (tests/docs/plugin.py);
# test-docs runs the quick ones (part of `make test`), test-docs-slow those marked <!-- doctest: slow --> (bench,
# search: they train networks)
DOCS_PAGES = README.md playbook
# tests/docs/check_outputs.py: the outputs shown on the pages still have the shape of a fresh run
test-docs: setup
	$(PY) -m pytest -q -p no:cacheprovider -p tests.docs.plugin -m 'not slow' tests/docs/check_outputs.py $(DOCS_PAGES)

test-docs-slow: setup
	$(PY) -m pytest -q -p no:cacheprovider -p tests.docs.plugin -m slow $(DOCS_PAGES)

# the shapes of the slow outputs (a bench report, a torch-profiler ranking): about 4 minutes
test-docs-outputs-slow: setup
	$(PY) -m pytest -q -p no:cacheprovider -m slow tests/docs/check_outputs.py

# rewrite the outputs shown on the pages from fresh runs of the examples (scripts/docs_outputs.py; minutes: bench
# runs too; DOCS_OUTPUTS=--fast for the quick ones), and the option tables of playbook/cli.md from the parsers
DOCS_OUTPUTS ?=
docs-outputs: setup
	$(PY) scripts/docs_outputs.py $(DOCS_OUTPUTS)
	$(PY) -m phasm_perf.cli.reference playbook/cli.md

# the suite on every other Python the package claims (requires-python >= 3.10), one venv each (.venv-3.X, torch as
# pinned): every test but the slow end-to-end ones, and on the oldest and the newest also the slow tests of what
# reaches into the interpreter (PYTHON_SLOW_TESTS: the counting hook, capture and swap, vars, the Python collectors,
# signals); the slow tests of compiled programs, tracking, search and the docs run once, on the machine's Python
PYTHONS_FULL ?= 3.10 3.13
PYTHONS_FAST ?= 3.12
PYTHON_SLOW_TESTS ?= tests/integration/test_bench.py tests/integration/test_vars.py \
	tests/integration/test_profile_python.py tests/integration/test_interrupted.py
test-pythons: setup
	@set -e; for v in $(PYTHONS_FULL) $(PYTHONS_FAST); do \
	  py=$$(bash scripts/find-python.sh $$v); \
	  start=$$(date +%s); \
	  $(MAKE) --no-print-directory .venv-$$v/.installed VENV=.venv-$$v STAMP=.venv-$$v/.installed PYTHON=$$py; \
	  echo "== CPython $$v: venv in $$(( $$(date +%s) - start )) s; pytest -m 'not slow'"; start=$$(date +%s); \
	  .venv-$$v/bin/python -m pytest -q -p no:cacheprovider -m "not slow" tests; \
	  case " $(PYTHONS_FULL) " in *" $$v "*) \
	    echo "== CPython $$v: pytest -m slow $(PYTHON_SLOW_TESTS)"; \
	    .venv-$$v/bin/python -m pytest -q -p no:cacheprovider -m slow $(PYTHON_SLOW_TESTS);; esac; \
	  echo "== CPython $$v: passed in $$(( $$(date +%s) - start )) s"; \
	done

test-fast: setup
	$(PY) -m pytest -q -m 'not slow' tests

# every reader fuzzed with FUZZ_CASES cases (hypothesis), in two processes (one per core); a crash's input is kept
# in .fuzz-crashes/ (copy it under tests/data/fuzz-regressions/FORMAT/); the counts go to .fuzz-stats/
FUZZ_CASES ?= 10000
FUZZ_TEXT   = folded or pyspy or perf or callgrind
fuzz: $(STAMP)
	rm -rf .fuzz-stats
	@start=$$(date +%s); \
	PHASM_FUZZ_CASES=$(FUZZ_CASES) $(PY) -m pytest -q -p no:cacheprovider tests/fuzz -k '$(FUZZ_TEXT)' & a=$$!; \
	PHASM_FUZZ_CASES=$(FUZZ_CASES) $(PY) -m pytest -q -p no:cacheprovider tests/fuzz -k 'not ($(FUZZ_TEXT))' & b=$$!; \
	wait $$a; ra=$$?; wait $$b; rb=$$?; \
	$(PY) -m tests.fuzz.summary .fuzz-stats $$start && test $$ra -eq 0 -a $$rb -eq 0

docs: setup
	$(VENV)/bin/mkdocs serve

# the notebooks in JupyterLab (installs the `notebooks` extra into .venv the first time)
notebooks: setup
	$(VENV)/bin/jupyter-lab --version >/dev/null 2>&1 || $(PIP) install -q -c constraints/ci.txt -e '.[$(EXTRAS),notebooks]'
	$(VENV)/bin/jupyter-lab notebooks/

# execute every notebook and keep its outputs in it (what the site shows); the tests execute them afresh
notebooks-run: setup
	$(VENV)/bin/jupyter-nbconvert --version >/dev/null 2>&1 || $(PIP) install -q -c constraints/ci.txt -e '.[$(EXTRAS),notebooks]'
	$(VENV)/bin/jupyter-nbconvert --to notebook --execute --inplace notebooks/*.ipynb

clean:
	rm -rf $(VENV) .venv-3.* build *.egg-info .fuzz-stats .fuzz-crashes
