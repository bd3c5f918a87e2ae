# Budget Guard: the two commands of the README and the steps behind them.
#
#   make demo   the guard end to end on this machine, no AWS account (emulator + local Slack)
#   make test   every check and test; installs what it needs on a fresh machine
#
# Everything installs into the repository: .venv (moto, cfn-lint, cargo-lambda) and
# cdk/node_modules, except Debian's faketime for the end-to-end stories' clock.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
SCAN_VENV   := .venv-scan
CLI         := target/debug/budget-guard
CARGO_TEST  := $(shell command -v cargo-nextest >/dev/null 2>&1 && echo "cargo nextest run --no-fail-fast" || echo "cargo test --no-fail-fast")
# Two tests a core: most of a suite's time is spent waiting on its emulator process, and one
# test a core leaves a third of the CPU idle (on 2 cores, 42 s a run instead of 58 s).
export NEXTEST_TEST_THREADS ?= $(shell echo $$(( $$(getconf _NPROCESSORS_ONLN) * 2 )))
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: help demo test unused-deps deps venv scan-venv cdk-deps faketime rust-targets build lint fmt-check clippy doc rust-test shifted-clock-test cdk-test cfn-lint checkov synth bundle-test python-client-test typescript-client-deps typescript-client-test bench oracle clean

help:
	@echo "make demo         run the guard end to end locally against the emulator"
	@echo "make test         run every check and test (installs what it needs)"
	@echo "make unused-deps  check that every crate uses each of its dependencies"
	@echo "make synth        synthesize the CDK stack into cdk/cdk.out (offline)"
	@echo "make bundle-test  build the functions for arm64 Lambda with cargo-lambda and check them"
	@echo "make python-client-test      the Python client (clients/python) against the emulator"
	@echo "make typescript-client-test  the TypeScript client (clients/typescript) against the emulator"
	@echo "make bench        print the benchmark figures of BENCHMARKS.md"
	@echo "make oracle       the flags oracle's long run (CASES=100000)"

# --- installs -------------------------------------------------------------------------------

deps: venv scan-venv cdk-deps faketime

# libfaketime puts the end-to-end stories' function processes on a clock of their own (Debian's
# faketime package; the one install outside the repository, and only when it is missing).
faketime:
	@test -e /usr/lib/$$(uname -m)-linux-gnu/faketime/libfaketime.so.1 || { \
		echo "installing faketime (libfaketime) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; }

# moto for the emulator, cfn-lint for the template, pytest for the Python client; re-installed
# only when a requirements file changes.
venv: $(VENV)/.deps-stamp
$(VENV)/.deps-stamp: tests/emulator/requirements.txt cdk/requirements.txt clients/python/requirements-test.txt
	scripts/emulator.sh setup
	$(PY) -m pip install --disable-pip-version-check --quiet -r cdk/requirements.txt
	$(PY) -m pip install --disable-pip-version-check --quiet -r clients/python/requirements-test.txt
	touch $@

# checkov in a virtualenv of its own (its ~100 packages must not move moto's), installed with uv.
scan-venv: $(SCAN_VENV)/.deps-stamp
$(SCAN_VENV)/.deps-stamp: cdk/requirements-scan.txt
	python3 -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --disable-pip-version-check --quiet uv==0.13.9
	$(SCAN_VENV)/bin/uv pip install --quiet --python $(SCAN_VENV)/bin/python -r cdk/requirements-scan.txt
	touch $@

cdk-deps: cdk/node_modules/.package-lock.json
cdk/node_modules/.package-lock.json: cdk/package-lock.json
	cd cdk && npm ci --no-audit --no-fund --loglevel=error

typescript-client-deps: clients/typescript/node_modules/.package-lock.json
clients/typescript/node_modules/.package-lock.json: clients/typescript/package-lock.json
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error

# The arm64 Lambda target for cargo-lambda's cross-build (quick when it is already installed).
rust-targets:
	rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

$(VENV)/bin/cargo-lambda: cdk/requirements-bundle.txt | venv
	$(PY) -m pip install --disable-pip-version-check --quiet -r cdk/requirements-bundle.txt
	touch $@

# --- build and checks ------------------------------------------------------------------------

build:
	cargo build --workspace --all-targets

fmt-check:
	cargo fmt --all -- --check

# Every crate's dependencies used in its own sources (cargo-machete's check, in a script: a fresh
# cargo-machete install compiles for ~150 s, the script takes a second).
unused-deps:
	scripts/unused-deps.sh

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

# The API docs of the workspace's own crates, with broken intra-doc links as errors (--no-deps:
# the dependencies' docs would take minutes and are not ours to fix). The examples are in the
# selection so that the dev-dependencies' features count, as in clippy's --all-targets: rustdoc
# then reuses the dependencies clippy checked instead of checking all of them again (two minutes
# on 2 cores). The binaries: each one with a page of its own, i.e. not a function's, whose lib
# of the same name holds its docs.
DOC_BINS = $(shell cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; \
	m = json.load(sys.stdin); \
	print(" ".join("--bin " + t["name"] for p in m["packages"] for t in p["targets"] if "bin" in t["kind"] \
	and not any("lib" in u["kind"] and u["name"] == t["name"].replace("-", "_") for u in p["targets"])))')
doc:
	RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --lib --examples $(DOC_BINS)

rust-test: venv faketime build
	BUDGET_GUARD_PYTHON=$(abspath $(PY)) $(CARGO_TEST) --workspace

# The Rust suite again with the test processes' clock moved a year on and a year back: no outcome
# may depend on today's date.
SHIFTS ?= +400d -400d
shifted-clock-test: venv faketime build
	BUDGET_GUARD_PYTHON=$(abspath $(PY)) scripts/test-shifted-clock.sh $(SHIFTS)

# The type check covers the tests too (the package build checks only lib/ and bin/).
cdk-test: cdk-deps venv build
	cd cdk && npm run --silent typecheck
	cd cdk && BUDGET_GUARD_REQUIRE_CLI=1 BUDGET_GUARD_BIN=$(abspath $(CLI)) npm test --silent

cfn-lint: synth
	cd cdk && PATH=$(abspath $(VENV))/bin:$$PATH npm run --silent lint:cfn

# The template scanner, offline; cdk/checkov.yaml says why each skipped check is skipped.
checkov: synth scan-venv
	cd cdk && $(abspath $(SCAN_VENV))/bin/checkov --config-file checkov.yaml -f cdk.out/BudgetGuard.template.json

synth: cdk-deps build
	cd cdk && BUDGET_GUARD_BIN=$(abspath $(CLI)) npm run --silent synth

# BUNDLE_PROFILE=release checks the build that deploys use (slower).
BUNDLE_PROFILE ?= bundle-check
bundle-test: cdk-deps build rust-targets $(VENV)/bin/cargo-lambda
	cd cdk && PATH=$(abspath $(VENV))/bin:$$PATH BUDGET_GUARD_BIN=$(abspath $(CLI)) \
		BUDGET_GUARD_BUNDLE_PROFILE=$(BUNDLE_PROFILE) npm run --silent test:bundle

# The Python client (clients/python) against the emulator, from the source tree: a few seconds.
python-client-test: venv
	$(PY) -m pytest -q clients/python/tests

# The TypeScript client (clients/typescript): its type check, then its tests against the emulator.
typescript-client-test: venv typescript-client-deps
	cd clients/typescript && npx tsc --noEmit
	cd clients/typescript && BUDGET_GUARD_PYTHON=$(abspath $(PY)) npm test --silent

# The installs wait on the network and clippy on the CPU: on a fresh machine they run side by side
# (about two minutes saved); everything after them runs in turn.
test: unused-deps fmt-check
	$(MAKE) -j2 --output-sync=target deps clippy
	$(MAKE) doc rust-test shifted-clock-test cdk-test cfn-lint checkov bundle-test typescript-client-test python-client-test
	@echo "make test: all checks passed"

# --- the demo --------------------------------------------------------------------------------

demo: faketime
	scripts/demo.sh

bench: venv
	scripts/bench.sh

# The flags oracle's long run (BENCHMARKS.md): CASES random sequences, optimised build.
CASES ?= 100000
oracle:
	BUDGET_GUARD_ORACLE_CASES=$(CASES) CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
		cargo test --release -q -p guard-core --test flags_oracle

clean:
	cargo clean
	rm -rf $(VENV) $(SCAN_VENV) cdk/node_modules cdk/cdk.out .emulator clients/typescript/node_modules clients/typescript/dist
