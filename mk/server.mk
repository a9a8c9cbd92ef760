# kds-server: the server's tests run in `swift test` (suite KDSServerTests) on
# SQLite; this step runs the same suite again on PostgreSQL: a throwaway
# cluster from Debian's packages (started by the test process on a private
# loopback port, stopped after), each test server as two replicas on its own
# database, requests alternating between them (Tests/KDSTestSupport/ServerProcess.swift).
TEST_STEPS += test-server-postgres
BENCH_STEPS += bench-server bench-replicas

.PHONY: test-server-postgres bench-server bench-replicas
test-server-postgres:
	KDS_TEST_BACKEND=postgres $(SWIFT) test $(TEST_FLAGS) --skip-build --filter KDSServerTests

bench-server:
	$(SWIFT) run $(RELEASE_FLAGS) kds-bench server

# Two replicas on SQLite and on PostgreSQL side by side (issue 16's goals).
bench-replicas:
	$(SWIFT) build $(RELEASE_FLAGS) --product kds-server
	$(SWIFT) run $(RELEASE_FLAGS) kds-bench replicas
