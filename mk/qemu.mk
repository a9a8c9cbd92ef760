# The display and input layers on a real kernel (QEMU, TCG): scripts/test-qemu.
# Extra guest step files: make test-qemu QEMU_STEPS="scripts/qemu/steps/device.steps my.steps"
TEST_STEPS += test-qemu
.PHONY: test-qemu
test-qemu: ; bash scripts/test-qemu
