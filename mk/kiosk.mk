# Kiosk core (issue 3): the crash test runs inside the Swift suite
# (CrashTests, 100 rounds of kill -9); `make test-crash` runs it alone with
# more rounds. The benchmark needs the release build of kds-server,
# kds-kiosk and kdsctl (make bench builds them).
.PHONY: test-crash bench-kiosk
test-crash:
	KDS_CRASH_ROUNDS=$${KDS_CRASH_ROUNDS:-200} $(SWIFT) test $(TEST_FLAGS) --filter KDSKioskTests.CrashTests

BENCH_STEPS += bench-kiosk
bench-kiosk:
	$(SWIFT) build $(RELEASE_FLAGS) --product kds-kiosk
	$(SWIFT) build $(RELEASE_FLAGS) --product kdsctl
	$(SWIFT) build $(RELEASE_FLAGS) --product kds-server
	$(SWIFT) run $(RELEASE_FLAGS) kds-bench kiosk

# Partition test (issue 12): kiosk and server on two network namespaces of
# the test's own, the link cut for 2 minutes in the middle of a burst of
# bumps; every bump must land exactly once. Root only (ip netns); ~3 minutes.
.PHONY: test-partition
TEST_STEPS += test-partition
test-partition:
	$(SWIFT) build $(BUILD_FLAGS) --product kds-server
	$(SWIFT) build $(BUILD_FLAGS) --product kds-kiosk
	$(SWIFT) build $(BUILD_FLAGS) --product kdsctl
	scripts/test-partition $$($(SWIFT) build $(BUILD_FLAGS) --show-bin-path)

# Push stream (issue 16): POS order to kiosk cache through the push stream and
# through the 5 s poll, p50/p99, against a release kds-server on loopback.
BENCH_STEPS += bench-push
.PHONY: bench-push
bench-push:
	$(SWIFT) build $(RELEASE_FLAGS) --product kds-server
	$(SWIFT) run $(RELEASE_FLAGS) kds-bench push
