# The two commands of the README:
#   make demo   sets everything up and runs `phasm-perf rank` on an example program
#   make test   sets everything up and runs the test suite (and builds the playbook with --strict)
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip
STAMP   = $(VENV)/.installed
# extras installed for development and CI; torch is pinned to the CPU build by constraints/ci.txt
EXTRAS ?= test,docs,gpu,bench,dist,native

.PHONY: setup system-deps examples demo test test-fast docs clean

$(STAMP): pyproject.toml constraints/ci.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints/ci.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

# the compiled example programs (g++ comes with system-deps)
examples: system-deps
	@if command -v $${CXX:-g++} >/dev/null; then $(MAKE) -s -C examples/shower && $(MAKE) -s -C examples/fieldmap; \
	else echo "examples: no C++ compiler, examples/shower and examples/fieldmap not built (their tests skip; install g++)" >&2; fi

setup: $(STAMP) system-deps examples

demo: setup
	$(VENV)/bin/phasm-perf rank --event-loop run examples/particles.py

test: setup
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q tests
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q -d $(VENV)/site

test-fast: setup
	$(PY) -m pytest -q -m 'not slow' tests

docs: setup
	$(VENV)/bin/mkdocs serve

clean:
	rm -rf $(VENV) build *.egg-info
