# The flashable kiosk image (image/, issue 7). Needs root.
#   make image       build/image/kds-kiosk-VERSION-amd64.img (+ .img.zst, .sha256)
#   make test-image  builds it and boots it under QEMU (OVMF, TCG): see scripts/test-image
# test-image is not in TEST_STEPS: .ci/run calls it after `make test`.
.PHONY: image test-image

image: deps
	bash image/build.sh

test-image: deps
	bash scripts/test-image
