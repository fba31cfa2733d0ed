# MCP awareness (backend/mcpclient): the reference MCP server its Go tests start in all three
# transports, @modelcontextprotocol/server-everything, pinned by the package-lock.json beside it.
MCP_EVERYTHING := backend/mcpclient/testdata/everything

$(MCP_EVERYTHING)/node_modules/.installed: $(MCP_EVERYTHING)/package-lock.json $(MCP_EVERYTHING)/package.json
	cd $(MCP_EVERYTHING) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: deps-mcp
deps-mcp: $(MCP_EVERYTHING)/node_modules/.installed

# The Go tests need it installed (they fail with a clear message otherwise).
test-go: deps-mcp
