package hub

import (
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
)

// BenchmarkAppendWithStalledClient is the cost a stalled subscriber adds to every stored line.
func BenchmarkAppendWithStalledClient(b *testing.B) {
	for _, clients := range []int{0, 1, 10} {
		b.Run(map[int]string{0: "none", 1: "one", 10: "ten"}[clients], func(b *testing.B) {
			store, err := logstore.Open(logstore.Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			h := New(Options{Processes: &procs{}, Logs: store})
			defer store.AddListener(h.PublishLog)()
			for i := 0; i < clients; i++ {
				c := h.NewClient("c")
				defer c.Close()
				c.SubscribeLogs("srv", logstore.Debug, 0, false)
			}
			line := []byte(`INFO 2026-11-25 request handled in 12 ms path=/api/v1/tools status=200`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				store.Append("srv", logstore.Stdout, line, false, 42)
			}
		})
	}
}
