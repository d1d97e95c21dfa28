package heapwatch

import (
	"testing"
	"time"
)

// TestStartSeesAnAllocation holds 64 MB live for longer than a period and
// checks the peak includes it.
func TestStartSeesAnAllocation(t *testing.T) {
	before := Bytes()
	stop := Start(time.Millisecond)
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = byte(i)
	}
	time.Sleep(20 * time.Millisecond)
	peak := stop()
	if peak < before+60<<20 {
		t.Fatalf("peak %.0f MB, heap before %.0f MB: the 64 MB held was not seen", peak/(1<<20), before/(1<<20))
	}
	_ = big[len(big)-1]
}
