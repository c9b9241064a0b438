# slotgate: build, test, lint, benchmarks.
#
#   make test    install what is missing, build, lint, run every test
#   make bench   build in release mode and print the benchmarks' figures

SWIFT        ?= swift
SWIFT_FORMAT ?= $(SWIFT) format
PREFIX       ?= /usr/local
APT_PACKAGES := libsystemd-dev libsqlite3-dev pkg-config

.PHONY: all deps build lint test bench clean

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

test: build lint
	$(SWIFT) test --skip-build

bench: deps
	$(SWIFT) build -c release --product slotgate-bench
	.build/release/slotgate-bench

clean:
	rm -rf .build
