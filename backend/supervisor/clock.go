package supervisor

import "time"

// Clock is the supervisor's source of time: the backoff delays, the stop grace period and the
// length of a run (StableAfter) are all measured with it, so tests can drive them by hand.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, unless the Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop cancels the call; it reports true when the call was still pending (f will not run)
	// and false when f has already been started.
	Stop() bool
}

// RealClock is the wall clock (time.Now, time.AfterFunc).
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
