# The POS web app (web/pos/, served by kds-server at /pos/) in a real browser:
# Debian's chromium driven by Playwright for Python (scripts/test-pos), against
# real kds-server and kds-kiosk processes. Screenshots: build/test-artifacts/.
TEST_STEPS += test-pos

.PHONY: test-pos
test-pos: deps
	$(SWIFT) build $(BUILD_FLAGS) >&2
	KDS_BIN="$(DEBUG_BIN)" python3 scripts/test-pos
