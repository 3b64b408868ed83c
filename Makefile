# Developer entry points for the mtls.apim collection. `make test` is what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := test

VENV   := .venv
PYTHON := $(VENV)/bin/python
PYTEST := $(PYTHON) -m pytest
# Reinstall whenever any requirements file changes: the stamp's name carries their digest.
REQUIREMENTS := $(sort $(wildcard requirements*.txt))
REQ_DIGEST := $(shell cat $(REQUIREMENTS) | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.installed-$(REQ_DIGEST)

.PHONY: venv system test unit sanity lint build changelog demo clean

venv: $(STAMP) system

$(STAMP):
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

# Debian packages the suites need (shellcheck, libnss-myhostname, nginx-light); a no-op when present.
system:
	@tools/setup-system.sh

# Everything: unit, conformance, integration and the tooling checks (sanity, lint, build, changelog).
test: venv
	$(PYTEST) tests

# Suites that may not exist yet count as passing (pytest exits 5 when it collects nothing).
unit: venv
	@if [ -d tests/unit ]; then $(PYTEST) tests/unit || [ $$? -eq 5 ]; else echo "no tests/unit yet"; fi

sanity: venv
	$(PYTEST) tests/tooling/test_sanity.py

lint: venv
	$(PYTEST) tests/tooling/test_lint.py

build: venv
	$(PYTEST) tests/tooling/test_build.py

changelog: venv
	$(PYTEST) tests/tooling/test_changelog.py

demo: venv
	tools/demo.sh

clean:
	rm -rf tests/output .pytest_cache .ansible
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
