# The manager's dashboard (/status) and reports page (/reports) in a real
# browser: Debian's chromium driven by Playwright for Python
# (scripts/test-dashboard) against a real kds-server. Screenshots:
# build/test-artifacts/dashboard-*.png.
TEST_STEPS += test-dashboard

.PHONY: test-dashboard
test-dashboard: deps
	$(SWIFT) build $(BUILD_FLAGS) --product kds-server >&2
	KDS_BIN="$(DEBUG_BIN)" python3 scripts/test-dashboard
