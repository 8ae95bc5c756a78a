# rampart — build, install, try and test.
#   make run       install what is needed, build, make a busybox bundle with `rampart spec`, run it
#   make test      the whole suite: unit tests, integration tests through the real binary,
#                  a short run of every fuzz target, the nested-VM tests (cgroup v2,
#                  AppArmor) and the vendor engines, then the
#                  check that nothing was left on the host (tests/leftovers.sh)
#   make vm-test   only the nested-VM tests
#   make vendor-test  only the engines (containerd, podman, docker, rootless podman) through rampart and runc, and their diff
#   make bench     rampart vs runc on the host and vs runc and crun in the nested VM, as tables
#   make install   install the binary to $(PREFIX)/bin

PREFIX ?= /usr/local
CARGO  ?= cargo
BIN    := target/release/rampart
STATIC := target/x86_64-unknown-linux-gnu/release/rampart
EXAMPLE := build/example

.PHONY: all build build-deps static crash-build install deps run test unit integration fuzz vm-test vendor-test bench soak clean

all: build

build: build-deps
	$(CARGO) build --release -p rampart-cli

# A static binary for the VM (its userland is busybox only).
static: build-deps
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release -p rampart-cli \
		--target x86_64-unknown-linux-gnu

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/rampart

# Build dependencies: libcgroups' eBPF device filter for cgroup v2 builds libbpf from source,
# which needs libelf and zlib (static archives too, for `make static`) and pkg-config.
build-deps:
	@missing=""; \
	for p in libelf-dev zlib1g-dev pkg-config; do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	fi

# Host packages the examples and tests use (only what is missing is installed). python3-seccomp
# is libseccomp for /usr/bin/python3: the seccomp differential test's oracle, never linked into rampart.
# uidmap (newuidmap, newgidmap) maps id ranges for unprivileged callers (the rootless tests).
deps:
	@missing=""; \
	for p in busybox-static runc python3-seccomp python3-venv uidmap; do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	fi

run: deps build
	@rm -rf $(EXAMPLE) && mkdir -p $(EXAMPLE)/rootfs/bin
	@cp /bin/busybox $(EXAMPLE)/rootfs/bin/busybox
	@for a in sh echo id hostname cat grep touch; do ln -sf busybox $(EXAMPLE)/rootfs/bin/$$a; done
	@cp examples/example.sh $(EXAMPLE)/rootfs/example.sh
	@$(BIN) spec --bundle $(EXAMPLE)
	@sed -i 's|^\( *\)"sh"$$|\1"sh", "/example.sh"|' $(EXAMPLE)/config.json
	$(BIN) --root build/state run --bundle $(EXAMPLE) example-$$$$

unit: build-deps deps
	$(CARGO) test --workspace --exclude rampart-integration

# The static build too: the CVE-2019-5736 test attacks both builds. The test binaries are only
# harnesses around the real binary: they are built without optimisation and link nothing of the
# runtime (the crash-point list is included from its source file), so they cost seconds, not a
# third optimised compile of the runtime and its dependencies.
# A test-only build with the crash points compiled in (own target dir: the release binary keeps
# none of them), for integration/tests/crash_points.rs.
CRASH := target/crash-points/release/rampart
crash-build: build-deps
	$(CARGO) build --release -p rampart-cli --features crash-points --target-dir target/crash-points

integration: deps build static crash-build
	RAMPART_BIN=$(CURDIR)/$(BIN) RAMPART_STATIC_BIN=$(CURDIR)/$(STATIC) RAMPART_CRASH_BIN=$(CURDIR)/$(CRASH) $(CARGO) test -p rampart-integration --no-fail-fast -- --test-threads=2

# Every fuzz target for FUZZ_TIME seconds, two at a time, on the corpora kept in fuzz/corpus
# (cargo-fuzz's libFuzzer, built with RUSTC_BOOTSTRAP=1 on this stable toolchain: fuzz/run.sh).
# `make test` runs the short form; the long runs reported in notes use
# `make fuzz FUZZ_TIME=1800 FUZZ_ARGS=--merge`, which also merges new coverage into the corpora.
FUZZ_TIME ?= 20
FUZZ_ARGS ?=
fuzz: build-deps
	fuzz/run.sh --time $(FUZZ_TIME) --jobs 2 $(FUZZ_ARGS)

vm-test: static
	vm/vm-test.sh --rampart $(STATIC) --tests vm/tests

# The same scenarios with runc prove they test the engines, not rampart's quirks; diff.sh compares
# what the workload sees under both (deliberate differences: vendor-tests/known-differences.txt).
vendor-test: deps build
	vendor-tests/run.sh --runtime $(CURDIR)/$(BIN)
	vendor-tests/run.sh --runtime /usr/sbin/runc
	vendor-tests/diff.sh --a /usr/sbin/runc --b $(CURDIR)/$(BIN)

# Every stage runs, also after one failed, with its output kept in build/test-logs/STAGE.log.
# The leftover check (tests/leftovers.sh) compares the host before the first stage and after the
# last. tests/summary.sh then prints what each stage counted and the suite's line,
# "N passed, M failed, K skipped", and fails `make test` if anything failed or was left behind.
LEFTOVERS := build/leftovers.snapshot
LOGS := build/test-logs
STAGES := unit integration fuzz vm-test vendor-test
test:
	@mkdir -p $(LOGS) && rm -f $(LOGS)/*.log $(LOGS)/*.rc $(LOGS)/*.secs && tests/leftovers.sh snapshot $(LEFTOVERS)
	@for s in $(STAGES); do \
		echo "=== make $$s"; t0=$$(date +%s); \
		{ $(MAKE) --no-print-directory $$s; echo $$? >$(LOGS)/$$s.rc; } 2>&1 | tee $(LOGS)/$$s.log; \
		echo $$(( $$(date +%s) - t0 )) >$(LOGS)/$$s.secs; \
	done; \
	echo "=== leftovers"; \
	{ tests/leftovers.sh check $(LEFTOVERS); echo $$? >$(LOGS)/leftovers.rc; } 2>&1 | tee $(LOGS)/leftovers.log; \
	echo; echo "=== make test: summary"; \
	tests/summary.sh $(LOGS) $(STAGES) leftovers

# Measures the static release binary (what the VM runs and what the size target is about);
# bench/run.sh also reports the size of the dynamic one. Then the same table inside the nested VM
# (cgroup v2, where crun runs; about 6 minutes under TCG): skip it with BENCH_VM=0.
BENCH_VM ?= 1
bench: deps build static
	bench/run.sh --rampart $(CURDIR)/$(STATIC)
	bench/rootless.sh --rampart $(CURDIR)/$(STATIC)
	@if [ "$(BENCH_VM)" = 1 ]; then bench/vm.sh --rampart $(CURDIR)/$(STATIC); fi

# 10,000 sequential runs of /bin/true; fails if the host's mounts, cgroups, fds or the state
# root grew (minutes; not part of `make test`).
soak: deps build
	bench/soak.sh --rampart $(CURDIR)/$(BIN)

clean:
	$(CARGO) clean
	rm -rf build
