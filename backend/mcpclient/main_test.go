package mcpclient_test

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

func TestMain(m *testing.M) {
	supervisor.RunShimIfRequested()
	// A race-built binary sleeps a second at exit, and the shim is this binary: skip that.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	goleak.VerifyTestMain(m)
}
