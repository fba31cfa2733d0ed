# Reliability (issue 6; build/RELIABILITY.md): fuzzing of the decoders, and the soak.
#
#   make test-fuzz   every fuzz target for FUZZTIME (default 5s) from its seeds in testdata/fuzz
#                    (part of make test; a crash found is written there as a new seed)
#   make soak        the load scenarios at full length, with their figures (not part of make test):
#                    500 sockets in churn 60 s, 50 000 lines/s for 30 s to 10 subscribers (2
#                    stalled), 50 servers started and stopped 60 s. ARGS="churn flood startstop"
#                    picks some; SOAK_SCALE=0.1 shortens them.
#
# The fault, hostile-input and attack tests are ordinary tests: test-go and test-node run them.

.PHONY: test-fuzz soak

FUZZTIME ?= 5s
FUZZ_TARGETS := \
	./backend/logstore:FuzzDetectLevel \
	./backend/logstore:FuzzEncode \
	./backend/registry:FuzzDecode \
	./backend/protocol:FuzzDecodeEvent \
	./backend/httpapi:FuzzDecodeServerDef \
	./backend/sampler:FuzzParseStat \
	./backend/socketio:FuzzASCIIJSON

TEST_TARGETS += test-fuzz

test-fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
	  out=$$($(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) && { echo "$$out" | tail -1; continue; }; \
	  echo "$$out"; \
	  echo "$$out" | grep -q '^    context deadline exceeded$$' || exit 1; \
	  echo "retrying $$fn once: the fuzzer's own deadline fired while stopping its workers (a Go toolchain flake, no input failed)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

soak: $(BIN)/mcpwatch-headless backend/socketio/nodetest/node_modules/.installed
	cd backend/socketio/nodetest && MCPWATCH_BIN=$(CURDIR)/$(BIN)/mcpwatch-headless node soak.mjs $(ARGS)
