package supervisor

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		backoffMs, retry int
		want             time.Duration
	}{
		{1000, 1, time.Second},
		{1000, 2, 2 * time.Second},
		{1000, 3, 4 * time.Second},
		{1000, 5, 16 * time.Second},
		{1000, 6, 32 * time.Second},
		{1000, 7, 60 * time.Second}, // 64 s capped
		{1000, 1000, 60 * time.Second},
		{0, 1, time.Second}, // default
		{-5, 2, 2 * time.Second},
		{250, 3, time.Second},
		{90_000, 1, 60 * time.Second},
		{40_000, 2, 60 * time.Second},
	}
	for _, tc := range tests {
		if got := backoffDelay(tc.backoffMs, tc.retry); got != tc.want {
			t.Errorf("backoffDelay(%d, %d) = %s, want %s", tc.backoffMs, tc.retry, got, tc.want)
		}
	}
}
