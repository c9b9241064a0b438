SHELL := /bin/bash
# slotgate: build, test, lint, benchmarks.
#
#   make test    install what is missing, build, lint, run every test
#   make bench   build in release mode and print the benchmarks' figures

SWIFT        ?= swift
SWIFT_FORMAT ?= $(SWIFT) format
PREFIX       ?= /usr/local
APT_PACKAGES := libsystemd-dev libsqlite3-dev pkg-config postgresql python3-venv man-db mandoc prometheus
# Packages installed for a tool only (prometheus: promtool, which checks contrib/prometheus): without their
# recommends (prometheus-node-exporter), and their service neither started nor enabled (see deps). DPKG_MAINTSCRIPT_PACKAGE makes
# deb-systemd-helper record the unit as disabled, so that an upgrade of the package does not enable it again.
APT_TOOL_ONLY := prometheus
PROMTOOL     ?= promtool
PYTHON       ?= python3
# The Python test environment (the official SDK, pytest), from Tests/python/requirements.txt and PyPI only.
VENV         := .build/venv
PYTHON_TESTS := Tests/python
# The Python client package (clients/python), installed into that environment from this tree, and its own suite.
PYTHON_CLIENT := clients/python
PYTHON_CLIENT_FILES := $(shell find $(PYTHON_CLIENT)/pyproject.toml $(PYTHON_CLIENT)/README.md $(PYTHON_CLIENT)/src -type f \
	-not -path '*/__pycache__/*' -not -path '*.egg-info/*' 2>/dev/null)
# Every answer the end-to-end tests receive, one JSON line each; Tests/python/test_openapi.py checks them against
# docs/openapi.yaml.
E2E_ANSWERS  := $(CURDIR)/.build/e2e-answers.jsonl

.PHONY: all deps build lint test bench clean demo install uninstall man man-tool test-units test-systemd test-python test-contrib soak fuzz deb test-deb

# Install layout (make install PREFIX=/usr DESTDIR=pkgroot). Units, sysusers and tmpfiles go under
# $(PREFIX)/lib, which systemd searches for /usr and /usr/local alike; the config is always
# /etc/slotgate (the unit names it). Binaries are release builds unless INSTALL_BINARIES_FROM names a
# directory holding slotgated and slotgate already built (the tests use .build/debug).
DESTDIR      ?=
BINDIR       ?= $(PREFIX)/bin
UNITDIR      ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR  ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR  ?= $(PREFIX)/lib/tmpfiles.d
DATADIR      ?= $(PREFIX)/share
DOCDIR       ?= $(DATADIR)/doc/slotgate
BASHCOMPDIR  ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR   ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR  ?= $(DATADIR)/fish/vendor_completions.d
MANDIR       ?= $(DATADIR)/man
CONFDIR      := /etc/slotgate
BUILD        ?= release
INSTALL_BINARIES_FROM ?=
INSTALLED_FILES = $(BINDIR)/slotgated $(BINDIR)/slotgate \
	$(UNITDIR)/slotgated.service $(UNITDIR)/slotgated.socket \
	$(SYSUSERSDIR)/slotgate.conf $(TMPFILESDIR)/slotgate.conf \
	$(DOCDIR)/README.md $(DOCDIR)/docs/security.md $(DOCDIR)/docs/api.md $(DOCDIR)/docs/openapi.yaml \
	$(DOCDIR)/slotgate.yaml \
	$(DOCDIR)/contrib/grafana/slotgate.json $(DOCDIR)/contrib/prometheus/slotgate-rules.yml \
	$(DOCDIR)/contrib/prometheus/slotgate-rules.test.yml \
	$(BASHCOMPDIR)/slotgate $(ZSHCOMPDIR)/_slotgate $(FISHCOMPDIR)/slotgate.fish \
	$(MANDIR)/man1/slotgate.1 $(MANDIR)/man8/slotgated.8

all: build

# Debian packages the build needs; installed only when missing (apt-get update once, first). A tool-only package
# (APT_TOOL_ONLY) is installed with a policy-rc.d answering 101 (when the host has none), so its postinst starts no
# service, and its unit is then disabled (deb-systemd-helper, update-rc.d), so no boot starts it either: nothing of
# it runs, here or in the test-systemd container, which boots an overlay of this root. A package that was already
# installed is left as it is.
deps:
	@set -e; missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
		tools=""; others=""; \
		for p in $$missing; do case " $(APT_TOOL_ONLY) " in *" $$p "*) tools="$$tools $$p";; *) others="$$others $$p";; esac; done; \
		$$SUDO apt-get update -qq; \
		if [ -n "$$others" ]; then DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$others; fi; \
		if [ -n "$$tools" ]; then \
			policy=/usr/sbin/policy-rc.d; added=""; \
			if [ ! -e $$policy ]; then \
				printf '#!/bin/sh\n# make deps: no service starts while a tool-only package installs\nexit 101\n' | $$SUDO tee $$policy >/dev/null; \
				$$SUDO chmod 0755 $$policy; added=1; \
			fi; \
			status=0; DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$tools || status=$$?; \
			if [ -n "$$added" ]; then $$SUDO rm -f $$policy; fi; \
			for p in $$tools; do \
				$$SUDO env DPKG_MAINTSCRIPT_PACKAGE="$$p" deb-systemd-helper disable "$$p.service" >/dev/null 2>&1 || true; \
				$$SUDO systemctl disable --quiet "$$p.service" >/dev/null 2>&1 || true; \
				$$SUDO update-rc.d "$$p" disable >/dev/null 2>&1 || true; \
				echo "$$p: installed for its tools; its service is not started and not enabled"; \
			done; \
			exit $$status; \
		fi; \
	fi

build: deps
	$(SWIFT) build --build-tests

lint:
	$(SWIFT_FORMAT) lint --strict --recursive Sources Tests Benchmarks Package.swift

# Swift Testing prints its own summary; the last line repeats it plainly ("N passed, N failed"), counting
# the systemd checks that follow the Swift tests (test-units, and test-systemd where the machine allows it).
# The hostile platform model (100,000 random sequences, CPU-bound) runs on its own after the rest of the suite, so
# that its time is its own and the end-to-end tests' daemons do not share the cores with it.
MODEL_TESTS := HostilePlatformTests
test: build lint
	@set -o pipefail; rm -f .build/test-output.txt "$(E2E_ANSWERS)"; \
	for run in "--skip $(MODEL_TESTS)" "--filter $(MODEL_TESTS)"; do \
		SLOTGATE_E2E_ANSWERS="$(E2E_ANSWERS)" $(SWIFT) test --skip-build $$run 2>&1 | tee -a .build/test-output.txt; status=$$?; \
		if [ $$status -ne 0 ]; then \
			issues=$$(grep -E "Test run with [0-9]+ tests?" .build/test-output.txt | tail -1 | sed -nE 's/.* with ([0-9]+) issues?.*/\1/p'); \
			echo "tests ($$run): $${issues:-some} failed"; exit $$status; \
		fi; \
	done; \
	total=$$(grep -E "Test run with [0-9]+ tests?" .build/test-output.txt | sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/' | awk '{ n += $$1 } END { print n + 0 }'); \
	echo "$${total:-0} passed, 0 failed"
	@rm -f .build/checks.count
	@$(MAKE) --no-print-directory test-python
	@$(MAKE) --no-print-directory test-contrib
	@$(MAKE) --no-print-directory test-units
	@set -o pipefail; SYSTEMD_TEST_IF_ALLOWED=1 $(MAKE) --no-print-directory test-systemd | tee .build/test-systemd.txt
	@if grep -q '^SKIP' .build/test-systemd.txt; then echo "SKIP test-deb: it needs the container test-systemd could not run"; \
	else SYSTEMD_TEST_IF_ALLOWED=1 $(MAKE) --no-print-directory test-deb DEB_CONFIG=debug; fi
	@total=$$(grep -E "Test run with [0-9]+ tests?" .build/test-output.txt | sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/' | awk '{ n += $$1 } END { print n + 0 }'); \
	checks=$$(awk '{ n += $$1 } END { print n + 0 }' .build/checks.count 2>/dev/null || echo 0); \
	echo "$$(( $${total:-0} + $${checks:-0} )) passed, 0 failed"

# The Python suites (Tests/python: the official SDK through the proxy, and docs/openapi.yaml against the answers
# the end-to-end tests recorded; clients/python/tests: the client package) against the debug builds of slotgated
# and agp-sim; their count joins make test's closing line.
$(VENV)/.installed: Tests/python/requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-input -r Tests/python/requirements.txt
	touch $@

# The package as `pip install ./clients/python` installs it, built offline with the pinned setuptools (no build
# isolation, which would fetch setuptools again); reinstalled whenever one of its files changes.
$(VENV)/.client-installed: $(VENV)/.installed $(PYTHON_CLIENT_FILES)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-input --no-deps --no-build-isolation --force-reinstall ./$(PYTHON_CLIENT)
	touch $@

test-python: $(VENV)/.client-installed
	@set -o pipefail; SLOTGATE_E2E_ANSWERS="$(E2E_ANSWERS)" $(VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTHON_TESTS) $(PYTHON_CLIENT)/tests 2>&1 | tee .build/python-tests.txt; \
	status=$$?; sed -nE 's/^([0-9]+) passed.*/\1/p' .build/python-tests.txt | tail -1 >> .build/checks.count; exit $$status

# The alert rules (promtool from Debian's prometheus package, see deps) and the Grafana dashboard's JSON. That
# every slotgate_* name they use is one the daemon exposes is checked by an end-to-end test (MetricsTests.swift).
test-contrib:
	@set -e; \
	$(PROMTOOL) check rules contrib/prometheus/slotgate-rules.yml; \
	$(PROMTOOL) test rules contrib/prometheus/slotgate-rules.test.yml; \
	$(PYTHON) -m json.tool contrib/grafana/slotgate.json >/dev/null; \
	echo "ok: contrib/grafana/slotgate.json is JSON"; \
	mkdir -p .build; echo 3 >> .build/checks.count

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

# One hour of the hostile-platform model (Tests/SlotgateCoreTests/HostilePlatformModel.swift) with random seeds, not in
# CI: prints the sequences, steps and seeds run, and any failing seed (replay with SLOTGATE_SEED and SLOTGATE_STEPS=200).
SOAK_SECONDS ?= 3600
soak: deps
	$(SWIFT) build --build-tests
	SLOTGATE_SOAK_SECONDS=$(SOAK_SECONDS) .build/debug/slotgatePackageTests.xctest --testing-library swift-testing \
		--filter HostilePlatformTests

# The grammar-based fuzzer of the end-to-end tests alone (Tests/SlotgateEndToEndTests/FuzzTests.swift) with any seed
# and count: make fuzz SEED=42 N=100000. `make test` runs it with a fixed seed and 20,000 requests.
SEED ?=
N    ?= 20000
fuzz: deps
	$(SWIFT) build --build-tests
	SLOTGATE_FUZZ_SEED=$(SEED) SLOTGATE_FUZZ_N=$(N) .build/debug/slotgatePackageTests.xctest --testing-library swift-testing \
		--filter 'EndToEnd/Fuzz/grammarFuzz'

clean:
	rm -rf .build

# The man pages: swift-argument-parser's generate-manual (the tool its GenerateManual plugin runs) on the binaries'
# --experimental-dump-help, finished by docs/man/manpages.py with the hand-written sections of docs/man/*.mdoc.
# The tool is built on its own, in debug, from the package's resolved checkout (about 20 s the first time, 0.4 s
# to write the pages): the plugin would build every product of the package in its configuration first, and
# gives every product the same --section.
ARGUMENT_PARSER := .build/checkouts/swift-argument-parser
MAN_TOOL_BUILD  := .build/generate-manual
MAN_TOOL         = $$($(SWIFT) build --package-path $(ARGUMENT_PARSER) --scratch-path $(MAN_TOOL_BUILD) --show-bin-path)/generate-manual
MAN_SET          = --set UNITDIR=$(UNITDIR) --set SYSUSERSDIR=$(SYSUSERSDIR) --set TMPFILESDIR=$(TMPFILESDIR) --set DOCDIR=$(DOCDIR)

man-tool:
	@[ -d $(ARGUMENT_PARSER) ] || $(SWIFT) package resolve
	@$(SWIFT) build --package-path $(ARGUMENT_PARSER) --scratch-path $(MAN_TOOL_BUILD) --product generate-manual >$(MAN_TOOL_BUILD).log 2>&1 || \
		{ cat $(MAN_TOOL_BUILD).log >&2; exit 1; }

# The pages of the debug build (or INSTALL_BINARIES_FROM) in .build/man, to read: man -l .build/man/man8/slotgated.8
man: man-tool
	@rm -rf .build/man
	@$(PYTHON) docs/man/manpages.py --tool "$(MAN_TOOL)" --bin $(or $(INSTALL_BINARIES_FROM),.build/debug) --out .build/man $(MAN_SET)

# Binaries, units, sysusers/tmpfiles, completions and man pages generated from the CLIs (slotgate(1) and one page
# per subcommand, slotgated(8)), the README and docs/ (security, the API guide and its OpenAPI document), contrib/ (the
# Grafana dashboard, the Prometheus alert rules and their tests), and the example
# config at /etc/slotgate/slotgate.yaml unless one is there. It changes nothing else: README "Install"
# lists the steps after it (systemd-sysusers, the key, systemctl enable).
install:
	@set -euo pipefail; \
	from="$(INSTALL_BINARIES_FROM)"; \
	if [ -z "$$from" ]; then \
		$(MAKE) --no-print-directory deps; \
		$(SWIFT) build -c $(BUILD) --product slotgated; \
		$(SWIFT) build -c $(BUILD) --product slotgate; \
		from=.build/$(BUILD); \
	fi; \
	for b in slotgated slotgate; do \
		[ -x "$$from/$$b" ] || { echo "install: $$from/$$b is missing; build it or unset INSTALL_BINARIES_FROM" >&2; exit 1; }; \
		install -D -m 0755 "$$from/$$b" "$(DESTDIR)$(BINDIR)/$$b"; \
	done; \
	for u in slotgated.service slotgated.socket; do \
		install -d -m 0755 "$(DESTDIR)$(UNITDIR)"; \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' "systemd/$$u" > "$(DESTDIR)$(UNITDIR)/$$u"; \
		chmod 0644 "$(DESTDIR)$(UNITDIR)/$$u"; \
	done; \
	install -D -m 0644 systemd/slotgate.sysusers "$(DESTDIR)$(SYSUSERSDIR)/slotgate.conf"; \
	install -D -m 0644 systemd/slotgate.tmpfiles "$(DESTDIR)$(TMPFILESDIR)/slotgate.conf"; \
	install -D -m 0644 README.md "$(DESTDIR)$(DOCDIR)/README.md"; \
	for d in security.md api.md openapi.yaml; do install -D -m 0644 "docs/$$d" "$(DESTDIR)$(DOCDIR)/docs/$$d"; done; \
	install -D -m 0644 config/slotgate.yaml "$(DESTDIR)$(DOCDIR)/slotgate.yaml"; \
	for c in grafana/slotgate.json prometheus/slotgate-rules.yml prometheus/slotgate-rules.test.yml; do \
		install -D -m 0644 "contrib/$$c" "$(DESTDIR)$(DOCDIR)/contrib/$$c"; \
	done; \
	install -d -m 0755 "$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"; \
	"$$from/slotgate" --generate-completion-script bash > "$(DESTDIR)$(BASHCOMPDIR)/slotgate"; \
	"$$from/slotgate" --generate-completion-script zsh > "$(DESTDIR)$(ZSHCOMPDIR)/_slotgate"; \
	"$$from/slotgate" --generate-completion-script fish > "$(DESTDIR)$(FISHCOMPDIR)/slotgate.fish"; \
	chmod 0644 "$(DESTDIR)$(BASHCOMPDIR)/slotgate" "$(DESTDIR)$(ZSHCOMPDIR)/_slotgate" "$(DESTDIR)$(FISHCOMPDIR)/slotgate.fish"; \
	$(MAKE) --no-print-directory man-tool; \
	rm -f "$(DESTDIR)$(MANDIR)/man1"/slotgate.*.1; \
	$(PYTHON) docs/man/manpages.py --tool "$(MAN_TOOL)" --bin "$$from" --out "$(DESTDIR)$(MANDIR)" $(MAN_SET) >/dev/null; \
	install -d -m 0750 "$(DESTDIR)$(CONFDIR)"; \
	if [ -e "$(DESTDIR)$(CONFDIR)/slotgate.yaml" ]; then \
		echo "kept $(DESTDIR)$(CONFDIR)/slotgate.yaml (the new example is $(DESTDIR)$(DOCDIR)/slotgate.yaml)"; \
	else \
		install -m 0640 config/slotgate.yaml "$(DESTDIR)$(CONFDIR)/slotgate.yaml"; \
	fi; \
	echo "installed slotgate under $(DESTDIR)$(PREFIX) (units in $(DESTDIR)$(UNITDIR))"; \
	if [ -z "$(DESTDIR)" ]; then \
		echo "next: systemd-sysusers; systemd-tmpfiles --create slotgate.conf; put the API key in $(CONFDIR)/agp-api-key (mode 0600);"; \
		echo "      systemctl daemon-reload; systemctl enable --now slotgated.socket slotgated.service"; \
	fi

# Removes what install added; keeps /etc/slotgate (config, key) and /var/lib/slotgate (the lease ledger).
uninstall:
	@set -euo pipefail; \
	for f in $(INSTALLED_FILES); do rm -f "$(DESTDIR)$$f"; done; \
	rm -f "$(DESTDIR)$(MANDIR)/man1"/slotgate.*.1; \
	rmdir "$(DESTDIR)$(DOCDIR)/contrib/grafana" "$(DESTDIR)$(DOCDIR)/contrib/prometheus" "$(DESTDIR)$(DOCDIR)/contrib" \
		"$(DESTDIR)$(DOCDIR)/docs" "$(DESTDIR)$(DOCDIR)" 2>/dev/null || true; \
	echo "removed slotgate from $(DESTDIR)$(PREFIX); kept $(DESTDIR)$(CONFDIR) and /var/lib/slotgate"; \
	if [ -z "$(DESTDIR)" ]; then echo "(stop it first: systemctl disable --now slotgated.socket slotgated.service; then systemctl daemon-reload)"; fi

# Fast, no manager: the example config against SettingKey.swift and the daemon, make install into a
# temporary DESTDIR, systemd-analyze verify and security (exposure <= 2.0) on the installed units.
test-units:
	@Tests/systemd/test-units.sh $(or $(INSTALL_BINARIES_FROM),.build/debug)

# Root: a real systemd manager (systemd-nspawn on an overlay of this machine's root) runs the installed
# units: socket activation, READY and STATUS, reload, a watchdog restart, the service user, stop.
# Debug binaries; about a minute. SYSTEMD_TEST_IF_ALLOWED=1 turns an unsuitable machine into a SKIP line.
test-systemd:
	@Tests/systemd/test-systemd.sh $(or $(INSTALL_BINARIES_FROM),.build/debug)

# The Debian package: slotgate_<version>_<arch>.deb in .build/deb, built with dpkg-deb (no debhelper) from the
# release binaries linked with the Swift standard library statically, laid out by `make install PREFIX=/usr`
# (units in /lib/systemd/system, as Debian bookworm's policy has them), man pages and changelog gzipped -9n,
# /etc/slotgate/slotgate.yaml a conffile, maintainer scripts from packaging/debian. Depends comes from
# dpkg-shlibdeps (libc6, libsqlite3-0, libsystemd0). Timestamps are the last commit's (SOURCE_DATE_EPOCH), so two
# builds of one commit give the same .deb. lintian checks it (packaging/debian/lintian-overrides says why for
# each override). DEB_REVISION bumps the package alone (the upgrade test builds -1 and -2).
VERSION      ?= $(shell sed -nE 's/^ *public static let version = "([^"]+)".*/\1/p' Sources/SlotgateDaemon/Daemon.swift)
DEB_REVISION ?= 1
# release for the package that ships; make test builds its package from the debug build instead (the same files,
# scripts and units; only the binaries' optimization differs): about a minute instead of a 15-minute release
# build. SwiftPM recompiles some objects of .build/debug for --static-swift-stdlib (they then ask the linker for
# the static Foundation's parts) and a later plain build does not recompile them back, so the link of every
# other product fails; the deb target removes those objects once it has the binaries, and the next build
# recompiles them.
DEB_CONFIG   ?= release
DEB_VERSION   = $(VERSION)-$(DEB_REVISION)
DEB_ARCH     := $(shell dpkg --print-architecture 2>/dev/null)
DEB_DIR      := .build/deb
DEB_FILE      = $(DEB_DIR)/slotgate_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_APT_PACKAGES := $(APT_PACKAGES) lintian
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
export SOURCE_DATE_EPOCH

deb:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(DEB_APT_PACKAGES)"
	$(SWIFT) build -c $(DEB_CONFIG) --static-swift-stdlib --product slotgated
	$(SWIFT) build -c $(DEB_CONFIG) --static-swift-stdlib --product slotgate
	@set -euo pipefail; \
	root=$(DEB_DIR)/root-$(DEB_VERSION); rm -rf "$$root"; mkdir -p "$$root/DEBIAN" "$(DEB_DIR)/bin"; \
	for b in slotgated slotgate; do \
		strip --remove-section=.comment --remove-section=.note --strip-unneeded -o "$(DEB_DIR)/bin/$$b" .build/$(DEB_CONFIG)/$$b; \
	done; \
	if [ "$(DEB_CONFIG)" = debug ]; then \
		grep -l -a -E -- '-lCoreFoundation|-l_FoundationCShims|-l_FoundationCollections' \
			.build/debug/*.build/*.o .build/debug/*.build/*.autolink 2>/dev/null | xargs -r rm -f; \
	fi; \
	$(MAKE) --no-print-directory -s install DESTDIR="$$root" PREFIX=/usr UNITDIR=/lib/systemd/system \
		INSTALL_BINARIES_FROM="$(DEB_DIR)/bin" >/dev/null; \
	find "$$root/usr/share/man" -type f -exec gzip -9nf {} +; \
	install -m 0644 packaging/debian/copyright "$$root/usr/share/doc/slotgate/copyright"; \
	sed -e "s|@VERSION@|$(DEB_VERSION)|" -e "s|@COMMIT@|$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)|" \
		-e "s|@DATE@|$$(LC_ALL=C date -u -R -d @$(SOURCE_DATE_EPOCH))|" packaging/debian/changelog.in | \
		gzip -9n > "$$root/usr/share/doc/slotgate/changelog.Debian.gz"; \
	chmod 0644 "$$root/usr/share/doc/slotgate/changelog.Debian.gz"; \
	install -D -m 0644 packaging/debian/lintian-overrides "$$root/usr/share/lintian/overrides/slotgate"; \
	for s in postinst prerm postrm; do install -m 0755 packaging/debian/$$s "$$root/DEBIAN/$$s"; done; \
	echo /etc/slotgate/slotgate.yaml > "$$root/DEBIAN/conffiles"; \
	depends=$$(cd $(DEB_DIR) && mkdir -p shlibs/debian && printf 'Source: slotgate\n\nPackage: slotgate\nArchitecture: any\n' > shlibs/debian/control && \
		cd shlibs && dpkg-shlibdeps -O "../bin/slotgated" "../bin/slotgate" 2>/dev/null | sed -n 's/^shlibs:Depends=//p'); \
	[ -n "$$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }; \
	(cd "$$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$$root/DEBIAN/md5sums"; \
	size=$$(du -sk --exclude=DEBIAN "$$root" | cut -f1); \
	sed -e "s|@VERSION@|$(DEB_VERSION)|" -e "s|@ARCH@|$(DEB_ARCH)|" -e "s|@SIZE@|$$size|" -e "s|@DEPENDS@|$$depends|" \
		packaging/debian/control.in > "$$root/DEBIAN/control"; \
	chmod 0644 "$$root/DEBIAN/control" "$$root/DEBIAN/md5sums" "$$root/DEBIAN/conffiles"; \
	find "$$root" -exec touch -h -d "@$(SOURCE_DATE_EPOCH)" {} +; \
	dpkg-deb --root-owner-group -Zxz --build "$$root" "$(DEB_FILE)" >/dev/null; \
	echo "built $(DEB_FILE) ($$(du -k "$(DEB_FILE)" | cut -f1) KiB); Depends: $$depends"; \
	lintian --fail-on error,warning "$(DEB_FILE)"; \
	echo "lintian: $(DEB_FILE) is clean (overrides: packaging/debian/lintian-overrides)"

# Root: installs the .deb into the systemd-nspawn container of test-systemd, starts the units on the simulator,
# upgrades it in place with a lease held, purges it (Tests/systemd/test-deb.sh). Builds the two packages first
# (DEB_REVISION 1 and 2; release build, see README "Tests" for the time). `make test` runs it with
# DEB_CONFIG=debug where test-systemd's container can run, and says SKIP where it cannot.
test-deb:
	@$(MAKE) --no-print-directory deb DEB_REVISION=1
	@$(MAKE) --no-print-directory deb DEB_REVISION=2
	@Tests/systemd/test-deb.sh $(DEB_DIR)/slotgate_$(VERSION)-1_$(DEB_ARCH).deb $(DEB_DIR)/slotgate_$(VERSION)-2_$(DEB_ARCH).deb
