# End-to-end tests of the web UI: Debian's chromium driven by playwright-core (never a downloaded
# browser) against a real `mcpwatch --headless` supervising the test child (ui.e2e.mjs) and the
# reference MCP server over stdio (mcp.e2e.mjs, issue 8: health, Tools tab, protocol log). See
# frontend/e2e/.
.PHONY: test-e2e e2e-perf

TEST_TARGETS += test-e2e

# playwright-core has no install step; this keeps any Playwright tool from fetching a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

E2E_CHROMIUM  ?= /usr/bin/chromium
E2E_TESTCHILD := $(BIN)/testchild
E2E_ENV = CHROMIUM_PATH=$(E2E_CHROMIUM) \
	MCPWATCH_BIN=$(CURDIR)/$(BIN)/mcpwatch-headless MCPWATCH_TESTCHILD=$(CURDIR)/$(E2E_TESTCHILD) \
	MCP_EVERYTHING_DIR=$(CURDIR)/$(MCP_EVERYTHING)

$(E2E_TESTCHILD): $(wildcard backend/internal/testchild/*.go) go.mod
	CGO_ENABLED=0 $(GO) build -o $@ ./backend/internal/testchild

# deps-mcp (build/make/mcp.mk) installs server-everything (npm ci, its stamp file): named by its
# phony target because mcp.mk is read after this file, so $(MCP_EVERYTHING) is still empty here.
# Both scripts run even when the first fails; the target fails if either did.
test-e2e: $(BIN)/mcpwatch-headless $(E2E_TESTCHILD) frontend/node_modules/.installed deps-mcp
	$(APT) chromium
	cd frontend && rc=0; \
	  $(E2E_ENV) node e2e/ui.e2e.mjs || rc=1; \
	  $(E2E_ENV) node e2e/mcp.e2e.mjs || rc=1; \
	  exit $$rc

# UI performance probe (not part of make test): 50 000 log lines, long tasks at 1 000 lines/s.
e2e-perf: $(BIN)/mcpwatch-headless $(E2E_TESTCHILD) frontend/node_modules/.installed
	$(APT) chromium
	cd frontend && $(E2E_ENV) node e2e/perf.mjs $(ARGS)
