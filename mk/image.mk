# The flashable kiosk image (image/, issue 7). Needs root.
#   make image       build/image/kds-kiosk-VERSION-amd64.img (+ .img.zst, .sha256)
#   make test-image  builds it and boots it under QEMU (OVMF, TCG): see scripts/test-image
# test-image is not in TEST_STEPS: .ci/run calls it after `make test`.
# test-image-scripts is: the image's shell scripts on the host, in seconds
# (kds-boot-config and local-server-tls on made-up kds.txt files, with the
# debug kds-server; flash-update on small file images, kds-data-alert on
# made-up mount tables).
.PHONY: image test-image test-image-scripts

TEST_STEPS += test-image-scripts

image: deps
	bash image/build.sh

test-image: deps
	bash scripts/test-image

test-image-scripts:
	KDS_SERVER_BIN=$(DEBUG_BIN)/kds-server bash image/test/test-boot-config
	bash image/test/test-flash-update
	bash image/test/test-data-alert
