# The renderer (issue 4): its benchmark. Its tests run in the Swift suite
# (KDSRenderTests); KDS_UPDATE_GOLDENS=1 swift test --filter KDSRenderTests
# rewrites the golden images.
BENCH_STEPS += bench-render
bench-render: ; $(SWIFT) run -c release kds-bench render

.PHONY: bench-render render-goldens
render-goldens: ; KDS_UPDATE_GOLDENS=1 $(SWIFT) test --filter KDSRenderTests
