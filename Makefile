# The two commands a newcomer needs: `make demo` and `make test`.
# Every target installs what is missing first (scripts/install-deps).
#
# Each part of the project adds its own test and benchmark steps in mk/*.mk:
#   TEST_STEPS  += test-something   (run by `make test`, after the Swift suite)
#   BENCH_STEPS += bench-something  (run by `make bench`)

SHELL := /bin/bash
SWIFT ?= swift
JOBS ?= $(shell nproc)
BUILD_FLAGS ?= -j $(JOBS)
RELEASE_FLAGS ?= -c release -j $(JOBS)
# How many tests run at once. Unbounded, every test of the suite starts its
# servers at the same moment: on 2 cores that stretches a test over minutes
# and makes time limits (a screen's silence, a rate limit's refill) lapse.
TEST_WIDTH ?= 8
TEST_FLAGS ?= $(BUILD_FLAGS) --experimental-maximum-parallelization-width $(TEST_WIDTH)
DEBUG_BIN = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
RELEASE_BIN = $(shell $(SWIFT) build -c release --show-bin-path 2>/dev/null)

TEST_STEPS := lint
BENCH_STEPS :=

.PHONY: all deps build release test test-swift bench demo format lint clean

all: build

deps:
	@bash scripts/install-deps

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

include $(sort $(wildcard mk/*.mk))

# The whole suite: the Swift tests, then every step the parts add.
test: deps
	$(SWIFT) build $(BUILD_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build
	@set -e; for step in $(TEST_STEPS); do $(MAKE) --no-print-directory $$step; done

test-swift: deps
	$(SWIFT) test $(TEST_FLAGS)

bench: release
	@set -e; for step in $(BENCH_STEPS); do $(MAKE) --no-print-directory $$step; done

demo: deps
	@bash scripts/demo

format:
	$(SWIFT) format --in-place --recursive --configuration .swift-format Package.swift Sources Tests

lint:
	$(SWIFT) format lint --strict --recursive --configuration .swift-format Package.swift Sources Tests

clean:
	rm -rf .build build
