# kds-server: benchmark step (the server's tests run in `swift test`, suite KDSServerTests).
BENCH_STEPS += bench-server

.PHONY: bench-server
bench-server:
	$(SWIFT) run $(RELEASE_FLAGS) kds-bench server
