package web

import (
	"testing"
	"time"
)

// TestVoteRateLimiterPerAddress: each address has its own bucket of burst
// tokens refilled at the rate; one address running dry does not hold
// another back. Times are given, not waited for.
func TestVoteRateLimiterPerAddress(t *testing.T) {
	l := newRateLimiter(5, 20)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 20 {
		if !l.allow("10.0.0.1", t0) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.allow("10.0.0.1", t0) {
		t.Fatal("21st request in the same instant allowed past a burst of 20")
	}
	if !l.allow("10.0.0.2", t0) {
		t.Fatal("another address refused because the first ran dry")
	}
	later := t0.Add(time.Second) // 5 tokens back
	for i := range 5 {
		if !l.allow("10.0.0.1", later) {
			t.Fatalf("refill: request %d of 5 after a second refused", i+1)
		}
	}
	if l.allow("10.0.0.1", later) {
		t.Fatal("a 6th request after one second allowed at 5 a second")
	}
}
