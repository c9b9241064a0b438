SHELL := /bin/bash
# slotgate: build, test, lint, benchmarks.
#
#   make test    install what is missing, build, lint, run every test
#   make bench   build in release mode and print the benchmarks' figures

SWIFT        ?= swift
SWIFT_FORMAT ?= $(SWIFT) format
PREFIX       ?= /usr/local
APT_PACKAGES := libsystemd-dev libsqlite3-dev pkg-config

.PHONY: all deps build lint test bench clean demo

all: build

# Debian packages the build needs; installed only when missing (apt-get update once, first).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build --build-tests

lint:
	$(SWIFT_FORMAT) lint --strict --recursive Sources Tests Benchmarks Package.swift

# Swift Testing prints its own summary; the last line repeats it plainly ("N passed, N failed").
test: build lint
	@set -o pipefail; $(SWIFT) test --skip-build 2>&1 | tee .build/test-output.txt; status=$$?; \
	summary=$$(grep -E "Test run with [0-9]+ tests" .build/test-output.txt | tail -1); \
	total=$$(echo "$$summary" | sed -E 's/.*Test run with ([0-9]+) tests.*/\1/'); \
	issues=$$(echo "$$summary" | sed -nE 's/.* with ([0-9]+) issues?.*/\1/p'); \
	if [ $$status -eq 0 ]; then echo "$${total:-0} passed, 0 failed"; else echo "tests: $${total:-0} run, $${issues:-some} failed"; fi; \
	exit $$status

# The README's first command: slotgated on its built-in platform simulator, a dozen agent jobs through it, the figures.
# No API key, no network.
demo: deps
	$(SWIFT) build --product slotgate
	.build/debug/slotgate demo

# Release builds of the daemon, the simulator and the benchmark runner; the runner starts the first two itself.
bench: deps
	$(SWIFT) build -c release --product slotgated
	$(SWIFT) build -c release --product agp-sim
	$(SWIFT) build -c release --product slotgate-bench
	.build/release/slotgate-bench $(BENCH)

clean:
	rm -rf .build
