# MCP Watch. The two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := run

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := build/bin
APT     := build/scripts/apt-install.sh

GO_SOURCES := $(shell find . -name '*.go' -not -path './frontend/*' 2>/dev/null) go.mod go.sum
UI_SOURCES := $(shell find frontend/src frontend/index.html frontend/vite.config.* frontend/tsconfig*.json frontend/package.json -type f 2>/dev/null)

.PHONY: run test build ui deps-ui test-go test-node test-ui clean

# Each area keeps its own targets in build/make/*.mk; they add to TEST_TARGETS.
TEST_TARGETS := test-go test-node test-ui
-include build/make/*.mk

# ---- set-up (idempotent) -------------------------------------------------------------------

frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

backend/socketio/nodetest/node_modules/.installed: backend/socketio/nodetest/package-lock.json
	cd backend/socketio/nodetest && npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps-ui: frontend/node_modules/.installed

# ---- builds ---------------------------------------------------------------------------------

frontend/dist/index.html: frontend/node_modules/.installed $(UI_SOURCES)
	cd frontend && npm run build

ui: frontend/dist/index.html

# The headless binary: the service and the embedded web UI, no cgo, no window.
$(BIN)/mcpwatch-headless: $(GO_SOURCES) frontend/dist/index.html
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $@ .

build: $(BIN)/mcpwatch-headless

# ---- the two commands ----------------------------------------------------------------------

# make run: builds what is missing and starts MCP Watch (HEADLESS=1, or no display: the service alone).
run:
	@if [ "$(HEADLESS)" = 1 ] || { [ "$$(uname -s)" = Linux ] && [ -z "$${DISPLAY}$${WAYLAND_DISPLAY}" ]; }; then \
	  $(MAKE) --no-print-directory $(BIN)/mcpwatch-headless && exec $(BIN)/mcpwatch-headless --headless $(ARGS); \
	else \
	  $(MAKE) --no-print-directory $(BIN)/mcpwatch && exec $(BIN)/mcpwatch $(ARGS); \
	fi

# make test: installs what the tests need, then runs every suite.
test: $(TEST_TARGETS)

test-go:
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path '*/node_modules/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

test-node: $(BIN)/mcpwatch-headless backend/socketio/nodetest/node_modules/.installed
	cd backend/socketio/nodetest && MCPWATCH_BIN=$(CURDIR)/$(BIN)/mcpwatch-headless npm test

test-ui: frontend/node_modules/.installed
	cd frontend && npm run typecheck && npm run test:unit

clean:
	rm -rf $(BIN) frontend/dist/assets frontend/dist/index.html
