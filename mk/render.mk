# The renderer (issue 4): its benchmark. Its tests run in the Swift suite
# (KDSRenderTests); KDS_UPDATE_GOLDENS=1 swift test --filter KDSRenderTests
# rewrites the golden images. `kds-bench render` prints the full frame, the
# frame after one ticket changed (goal <= 1.6 ms), the timer tick and the first
# frame, each against its target.
BENCH_STEPS += bench-render
bench-render: ; $(SWIFT) run -c release kds-bench render

.PHONY: bench-render render-goldens
render-goldens: ; KDS_UPDATE_GOLDENS=1 $(SWIFT) test --filter KDSRenderTests
