package sampler

import (
	"testing"
	"time"
)

func TestHistory(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 2 * time.Second) }
	tests := []struct {
		name     string
		size     int
		records  int
		since    time.Time
		wantPIDs []int // PID holds the record number
	}{
		{name: "empty", size: 5, records: 0, wantPIDs: nil},
		{name: "partial, all", size: 5, records: 3, wantPIDs: []int{0, 1, 2}},
		{name: "full, all", size: 5, records: 5, wantPIDs: []int{0, 1, 2, 3, 4}},
		{name: "wrapped once", size: 5, records: 7, wantPIDs: []int{2, 3, 4, 5, 6}},
		{name: "wrapped many times", size: 3, records: 11, wantPIDs: []int{8, 9, 10}},
		{name: "since filters, inclusive", size: 5, records: 7, since: at(4), wantPIDs: []int{4, 5, 6}},
		{name: "since after all", size: 5, records: 7, since: at(7), wantPIDs: nil},
		{name: "since before all", size: 5, records: 7, since: at(-100), wantPIDs: []int{2, 3, 4, 5, 6}},
		{name: "size one", size: 1, records: 4, wantPIDs: []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{HistorySize: tt.size, ProcRoot: "testdata/proc"})
			for i := range tt.records {
				s.Record("a", ProcSample{PID: i, Time: at(i)})
				s.Record("b", ProcSample{PID: 1000 + i, Time: at(i)})
			}
			got := s.History("a", tt.since)
			if len(got) != len(tt.wantPIDs) {
				t.Fatalf("got %d samples, want %d: %+v", len(got), len(tt.wantPIDs), got)
			}
			for i, ps := range got {
				if ps.PID != tt.wantPIDs[i] || !ps.Time.Equal(at(tt.wantPIDs[i])) {
					t.Errorf("sample %d = pid %d at %v, want %d", i, ps.PID, ps.Time, tt.wantPIDs[i])
				}
			}
			latest, ok := s.Latest("a")
			if ok != (tt.records > 0) || (ok && latest.PID != tt.records-1) {
				t.Errorf("Latest = %+v, %v", latest, ok)
			}
		})
	}
}

func TestHistoryCopyAndDrop(t *testing.T) {
	s := New(Options{HistorySize: 4, ProcRoot: "testdata/proc"})
	s.Record("a", ProcSample{PID: 1, CPU: 5})
	h := s.History("a", time.Time{})
	h[0].CPU = 99
	if again := s.History("a", time.Time{}); again[0].CPU != 5 {
		t.Error("History returned the ring itself, not a copy")
	}
	if _, ok := s.Latest("nobody"); ok {
		t.Error("Latest of an unknown server")
	}
	s.DropHistory("a")
	if h := s.History("a", time.Time{}); h != nil {
		t.Errorf("after DropHistory: %+v", h)
	}
	if _, ok := s.Latest("a"); ok {
		t.Error("Latest after DropHistory")
	}
}

func TestRecordDoesNotAllocateOnceFull(t *testing.T) {
	s := New(Options{HistorySize: 16, ProcRoot: "testdata/proc"})
	ps := ProcSample{PID: 1}
	for range 16 {
		s.Record("a", ps)
	}
	if n := testing.AllocsPerRun(100, func() { s.Record("a", ps) }); n != 0 {
		t.Errorf("Record allocates %v times per call", n)
	}
}

func TestSampleDoesNotAllocateWhenWarm(t *testing.T) {
	f := newFixture(t)
	s := f.sampler()
	for range 3 {
		if _, err := s.Sample(100); err != nil {
			t.Fatal(err)
		}
	}
	n := testing.AllocsPerRun(50, func() {
		if _, err := s.Sample(100); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Sample of a 4-process tree allocates %v times", n)
	}
}
