# `make demo` itself, checked end to end (scripts/test-demo).
TEST_STEPS += test-demo
.PHONY: test-demo
test-demo: ; bash scripts/test-demo
