package supervisor

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type gotLine struct {
	line      string
	truncated bool
}

func TestReadLines(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes)
	tests := []struct {
		name string
		in   string
		want []gotLine
	}{
		{"empty", "", nil},
		{"lines", "a\nb\n", []gotLine{{"a", false}, {"b", false}}},
		{"empty lines", "\n\n", []gotLine{{"", false}, {"", false}}},
		{"crlf", "a\r\nb\r\n", []gotLine{{"a", false}, {"b", false}}},
		{"only one cr stripped", "a\r\r\n", []gotLine{{"a\r", false}}},
		{"cr inside kept", "a\rb\n", []gotLine{{"a\rb", false}}},
		{"partial last line", "a\nb", []gotLine{{"a", false}, {"b", false}}},
		{"partial last line with cr", "a\r", []gotLine{{"a", false}}},
		{"exactly 64 KiB", long + "\n", []gotLine{{long, false}}},
		{"exactly 64 KiB with crlf", long + "\r\n", []gotLine{{long, false}}},
		{"64 KiB + 1 with crlf", long + "y\r\nnext\n", []gotLine{{long, true}, {"next", false}}},
		{"64 KiB + 1 at EOF", long + "y", []gotLine{{long, true}}},
		{"64 KiB + 1", long + "y\nnext\n", []gotLine{{long, true}, {"next", false}}},
		{"200 KiB then more", strings.Repeat("x", 200<<10) + "\nnext\n", []gotLine{{long, true}, {"next", false}}},
		{"200 KiB at EOF", strings.Repeat("x", 200<<10), []gotLine{{long, true}}},
		{"64 KiB at EOF", long, []gotLine{{long, false}}},
	}
	for _, tc := range tests {
		for _, rd := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"one byte", iotest.OneByteReader}, {"half", iotest.HalfReader}} {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				ready := make(chan struct{})
				close(ready)
				var got []gotLine
				readLines(rd.wrap(strings.NewReader(tc.in)), ready, func(line []byte, truncated bool) {
					got = append(got, gotLine{string(line), truncated})
				})
				if len(got) != len(tc.want) {
					t.Fatalf("got %d lines %s, want %d %s", len(got), short(got), len(tc.want), short(tc.want))
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Errorf("line %d = %s, want %s", i, short(got[i:i+1]), short(tc.want[i:i+1]))
					}
				}
			})
		}
	}
}

func TestReadLinesCopies(t *testing.T) {
	ready := make(chan struct{})
	close(ready)
	var kept [][]byte
	readLines(strings.NewReader("one\ntwo\nthree\n"), ready, func(line []byte, _ bool) { kept = append(kept, line) })
	if fmt.Sprintf("%s", kept) != "[one two three]" {
		t.Fatalf("kept slices were overwritten: %s", kept)
	}
}

func short(ls []gotLine) string {
	var b strings.Builder
	for _, l := range ls {
		s := l.line
		if len(s) > 20 {
			s = fmt.Sprintf("%.10s…(%d bytes)", s, len(s))
		}
		fmt.Fprintf(&b, "[%q trunc=%v]", s, l.truncated)
	}
	return b.String()
}
