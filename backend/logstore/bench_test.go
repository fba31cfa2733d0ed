package logstore

import (
	"fmt"
	"log/slog"
	"testing"
	"time"
)

var benchLines = [][]byte{
	[]byte("2024-01-01 12:00:00,123 - mcp.server.lowlevel - INFO - Processing request of type CallToolRequest"),
	[]byte("[Nest] 1234  - 01/01/2024, 10:00:00 AM     LOG [RoutesResolver] AppController {/api}: +2ms"),
	[]byte("Server listening on port 3000, ready to accept connections from the client"),
	[]byte(`time=2024-01-01T12:00:00.000Z level=WARN msg="slow tool call" tool=weather ms=1234`),
}

// BenchmarkAppend measures the whole ingest path with persistence: sanitize, detect, encode,
// ring, buffered NDJSON file with rotation, one listener.
func BenchmarkAppend(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n int
	defer s.AddListener(func(string, *Entry) { n++ })()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		s.Append("bench", Stderr, benchLines[i%len(benchLines)], false, 1234)
	}
	if err := s.Close(); err != nil { // the final flush counts
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
	if n != b.N {
		b.Fatalf("listener saw %d of %d", n, b.N)
	}
}

// BenchmarkAppendJSON is the same with pino JSON lines (fields parsed by encoding/json).
func BenchmarkAppendJSON(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	line := []byte(`{"level":30,"time":1704067200000,"pid":1234,"hostname":"h","msg":"tool call done","ms":12}`)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		s.Append("bench", Stdout, line, false, 1234)
	}
	s.Close()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
}

func BenchmarkDetectLevel(b *testing.B) {
	for i, l := range benchLines {
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(l)))
			for b.Loop() {
				DetectLevel(l)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	e := buildEntry(Stderr, benchLines[0], false, 1234, 1, t0, Info, true)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendEntryJSON(buf[:0], e, nil)
	}
}

func BenchmarkQuery(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler), RingSize: 100})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 100000 {
		s.Append("bench", Stderr, benchLines[i%len(benchLines)], false, 1234)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Query("bench", Query{MinLevel: Warn, Text: "slow", Limit: 100}); err != nil {
			b.Fatal(err)
		}
	}
}
