package hub

import (
	"bytes"
	"context"
	"sync"
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

// BenchmarkBatchedFanOut is the cost of one line delivered to 50 batched subscribers, each read
// by its own goroutine that frames what it gets, as the transport does.
func BenchmarkBatchedFanOut(b *testing.B) {
	const clients = 50
	store, err := logstore.Open(logstore.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	// Room for everything: this measures delivery, not drops.
	h := New(Options{Processes: &procs{}, Logs: store, QueueSize: 1 << 20})
	defer store.AddListener(h.PublishLog)()
	end := []byte(`"message":"END"`)
	frame := func(m *Message) []byte {
		return append(append([]byte(`42/monitoring,["`+m.Event+`",`), m.Data...), ']')
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	cs := make([]*Client, clients)
	for i := range cs {
		c := h.NewClient("c")
		cs[i] = c
		defer c.Close()
		c.SubscribeLogs("srv", logstore.Debug, 0, true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msgs, err := c.Next(ctx)
				if err != nil {
					return
				}
				for _, m := range msgs {
					m.Frame(frame)
					if bytes.Contains(m.Data[max(0, len(m.Data)-256):], end) {
						return
					}
				}
			}
		}()
	}
	line := []byte(`INFO 2026-11-25 request handled in 12 ms path=/api/v1/tools status=200`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		store.Append("srv", logstore.Stdout, line, false, 42)
	}
	store.Append("srv", logstore.Stdout, []byte("END"), false, 42)
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*clients), "ns/entry")
	for _, c := range cs {
		if d := c.Dropped(); d > 0 {
			b.Fatalf("a client dropped %d", d)
		}
	}
}
