TEST_STEPS += test-systemd
test-systemd:
	bash scripts/test-systemd
