# Two commands for a newcomer: `make run` and `make test`. See README.md.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps build run test format format-check package package-test asan asan-test tsan-test fuzz fuzz-smoke bench clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DBUCKY3_WERROR=ON

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/bin/bucky3

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Every C++ source of the repository, as .clang-format says (CI fails on a difference).
CXX_SOURCES = $(shell git ls-files '*.cpp' '*.h' '*.hpp' '*.cc' 2>/dev/null)
format-check:
	@clang-format --dry-run --Werror $(CXX_SOURCES) && echo "format-check: $(words $(CXX_SOURCES)) files as .clang-format says"

format:
	clang-format -i $(CXX_SOURCES)

# Debian packages bucky3 and bucky3-inspector in $(BUILD)/packages (cmake/Packaging.cmake).
package: build
	rm -f $(BUILD)/packages/*.deb $(BUILD)/packages/*.deb.sha256
	cd $(BUILD) && cpack -G DEB

# Builds the packages, lints, installs, runs and purges them (installs system-wide).
package-test: package
	@bash scripts/package-test.sh $(BUILD)/packages

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUCKY3_SANITIZE=ON -DBUCKY3_BENCH=OFF

ASAN_LABELS ?= unit
# With ASAN_LABELS set, only the test programs of those labels (and what they
# depend on) are built: CI's sanitizer stage skips the agent-test programs it never runs.
asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS) $(if $(ASAN_LABELS),--target $$(cd $(ASAN_BUILD) && ctest -N -L '$(ASAN_LABELS)' | sed -n 's/^ *Test *#[0-9]*: \(.*\)$$/test_\1/p'))

# ASAN_LABELS= (empty) runs the whole suite (unit, integration, peer) under
# ASan+UBSan, as CI does (.ci/run; timed in docs/RELIABILITY.md, "CI time"); the
# default, unit, is the quick local run. Leak suppressions, each explained:
# scripts/sanitizers/lsan.supp.
asan-test: asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/sanitizers/lsan.supp:print_suppressions=0 \
	  ctest --output-on-failure -j $(JOBS) $(if $(ASAN_LABELS),-L '$(ASAN_LABELS)')

# ThreadSanitizer cannot follow shared memory across processes: one test runs
# producer, consumer and observer of a ring as threads of one process.
$(TSAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TSAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUCKY3_TSAN=ON -DBUCKY3_BENCH=OFF

tsan-test: deps $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_ring_threads
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:history_size=7:suppressions=$(CURDIR)/scripts/sanitizers/tsan.supp ctest --output-on-failure -R '^ring_threads$$'

# The soak in short: the default pipeline at 100,000 StatsD lines/s for 2.5
# minutes, nothing lost, RSS growth after 1.5 minutes under 25 % (a gross-leak tripwire: docs/RELIABILITY.md) (bench/soak.sh).
soak-ci: build
	bash bench/soak.sh --minutes 2.5 --warmup 1.5 --max-growth-percent 25 --out $(BUILD)/soak-ci

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUCKY3_FUZZ=ON

fuzz: deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers

# Runs every fuzz target for FUZZ_SECONDS from its seed corpus in fuzz/corpus/<name>.
fuzz-smoke: fuzz
	@bash scripts/fuzz-smoke.sh $(FUZZ_BUILD)/bin $(FUZZ_SECONDS)

bench: build
	@bash bench/run_all.sh $(BUILD)/bin

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
