# Fuzzing (issue 12): libFuzzer targets built with swiftc -sanitize=fuzzer from
# the module sources they test (scripts/fuzz, Fuzz/README.md):
#   ticket (KDSCore's ticket decoder), json (KDSServer's JSON parser and the
#   fingerprint's canonical form), config (KioskConfiguration), keymap
#   (KDSInput's key-map parser).
#   make test   runs each for FUZZ_TEST_SECONDS (10 s: under a minute in all),
#               built -Onone (a quarter of the -O build time)
#   make fuzz   runs each for FUZZ_SECONDS (300 s) and keeps the new inputs
#               that add coverage in Fuzz/Corpus/TARGET
.PHONY: fuzz test-fuzz

FUZZ_TEST_SECONDS ?= 10
FUZZ_SECONDS ?= 300
FUZZ_ARGS ?=
TEST_STEPS += test-fuzz

test-fuzz:
	bash scripts/fuzz -Onone --seconds $(FUZZ_TEST_SECONDS) $(FUZZ_ARGS)

fuzz: deps
	bash scripts/fuzz --seconds $(FUZZ_SECONDS) --keep $(FUZZ_ARGS)
