# Benchmarks (issue 7; not part of make test): MCP Watch beside the original monitoring stack
# (../shared/bench/reference-node: socket.io 4 + pidusage on Node, copied to a temporary folder
# and npm ci-ed there), the same children and clients, alternated, medians of BENCH_ROUNDS rounds.
# Writes bench/results/<date>.json and <date>.md. See "Benchmarks" in README.md.
#
#   make bench                          everything (about 15 minutes)
#   make bench BENCH_ARGS="--only sampler,latency --rounds 5"   a part; --quick for a short run
.PHONY: bench bench-go

BENCH_ROUNDS ?= 3
BENCH_ARGS   ?=
SAMPLERBENCH := $(BIN)/samplerbench

$(SAMPLERBENCH): $(GO_SOURCES)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./bench/samplerbench

bench/node_modules/.installed: bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench: $(BIN)/mcpwatch-headless $(BIN)/testchild $(SAMPLERBENCH) bench/node_modules/.installed frontend/node_modules/.installed
	$(APT) chromium
	MCPWATCH_BIN=$(CURDIR)/$(BIN)/mcpwatch-headless MCPWATCH_TESTCHILD=$(CURDIR)/$(BIN)/testchild \
	  SAMPLERBENCH=$(CURDIR)/$(SAMPLERBENCH) CHROMIUM_PATH=$(E2E_CHROMIUM) \
	  node bench/run.mjs --rounds $(BENCH_ROUNDS) $(BENCH_ARGS)

# The Go micro-benchmarks beside their packages (sampler, log store, hub), for profiling.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./backend/sampler ./backend/logstore ./backend/hub
