# Switchboard: `make dev` runs the whole service locally, `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export CARGO_PROFILE_DEV_DEBUG := 0
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: dev test venv fmt lint bench fuzz clean

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

## The whole service on 127.0.0.1: moto on :4566, functions on :9000, queue bridge, sweeper.
dev: venv
	scripts/dev.sh

## Every test, self-contained (own emulator on a free port). scripts/test.sh makes the venv
## itself, beside fmt and clippy.
test:
	scripts/test.sh

## Benchmarks against a private emulator (figures, not assertions).
bench: venv
	scripts/bench.sh

## Fuzzing (nightly + cargo-fuzz): every target for FUZZ_SECONDS (default 600) each, 2 at a
## time, seeded from tests/fuzz/corpus; 0 crashes expected. Not part of `make test`.
fuzz:
	scripts/fuzz.sh

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf target tests/fuzz/target $(VENV) tests/e2e/node_modules tests/browser/node_modules tests/receivers/node_modules tests/lint/node_modules
